// Test helper: sync engines with test-friendly defaults over a temporary store.
import type { ClientStore } from '../../../src/store/open-store';
import { SyncEngine } from '../../../src/engine/sync-engine';
import type { EngineEvent, SyncEngineOptions } from '../../../src/engine/engine-types';
import { realSleep, seededRandom } from '../../../src/engine/timing';
import type { SyncTransport } from '../../../src/engine/matrix-client';

export function makeEngine(
  store: ClientStore,
  client: SyncTransport,
  overrides: Partial<SyncEngineOptions> & { processName: string },
): { engine: SyncEngine; events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  const engine = new SyncEngine({
    store,
    client,
    clock: { nowMs: () => Date.now() },
    sleep: realSleep,
    random: seededRandom(1),
    pid: 1000,
    backoff: { baseMs: 1, maxMs: 5, maxRetries: 3 },
    onEvent: (event) => events.push(event),
    ...overrides,
  });
  return { engine, events };
}
