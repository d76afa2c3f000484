/**
 * Case 5, peer: matrix-js-sdk's own sliding sync client (`SlidingSync` with a to-device extension) draining the
 * same backlog from the same homeserver, against our durable drain at FULL from case 1.
 *
 * Fairness: the SDK's `ExtensionToDevice` is internal to its `SlidingSyncSdk` (which needs a whole client with
 * stores and crypto), so the extension here is a line-for-line copy of it minus the crypto pre-processing hook
 * (there is no crypto in this backlog): it sends `{since, limit: 100, enabled: true}`, maps every event with the
 * SDK's `mapToDeviceEvent` into a `MatrixEvent`, emits `ClientEvent.ToDeviceEvent`, and keeps `next_batch` only
 * in memory. Nothing the SDK does is durable, so this is the speed of a client that risks losing messages.
 * The clock runs from `start()` to the last event being emitted.
 *
 * Runtime: node.
 */
import { ClientEvent, createClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';
import { ExtensionState, SlidingSync, type Extension } from 'matrix-js-sdk/lib/sliding-sync.js';
import { mapToDeviceEvent } from 'matrix-js-sdk/lib/sync.js';
import type { Account } from '../store/account';
import type { BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import type { DrainRun } from './drain-engine';
import { nowMs, perSecond } from './stats';

interface ToDeviceRequest {
  since?: string;
  limit: number;
  enabled: boolean;
}
interface ToDeviceResponse {
  next_batch: string;
  events?: Array<Record<string, unknown>>;
}

/** The SDK's `ExtensionToDevice` (lib/sliding-sync-sdk.js) without the crypto callbacks. */
class SdkToDeviceExtension implements Extension<ToDeviceRequest, ToDeviceResponse> {
  private nextBatch: string | null = null;
  constructor(private readonly emit: (event: MatrixEvent) => void) {}
  name(): string {
    return 'to_device';
  }
  when(): ExtensionState {
    return ExtensionState.PreProcess;
  }
  async onRequest(): Promise<ToDeviceRequest> {
    return { ...(this.nextBatch === null ? {} : { since: this.nextBatch }), limit: 100, enabled: true };
  }
  async onResponse(data: ToDeviceResponse): Promise<void> {
    for (const event of (data.events ?? []).map((raw) => mapToDeviceEvent(raw))) this.emit(event);
    this.nextBatch = data.next_batch;
  }
}

async function drainWithSdk(account: Account, expected: number, timeoutMs: number): Promise<DrainRun> {
  const client = createClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken, userId: account.userId, deviceId: account.deviceId });
  const sliding = new SlidingSync(account.homeserverUrl, new Map(), {}, client, 30_000);
  let received = 0;
  const done = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: matrix-js-sdk drained ${received} of ${expected} in ${timeoutMs} ms`)), timeoutMs);
    client.on(ClientEvent.ToDeviceEvent, () => {
      received += 1;
      if (received === expected) {
        clearTimeout(timer);
        resolve(nowMs());
      }
    });
  });
  sliding.registerExtension(new SdkToDeviceExtension((event) => client.emit(ClientEvent.ToDeviceEvent, event)));
  const startedMs = nowMs();
  void sliding.start();
  try {
    const endedMs = await done;
    return { events: received, elapsedMs: endedMs - startedMs, eventsPerS: perSecond(received, endedMs - startedMs) };
  } finally {
    sliding.stop();
    client.stopClient();
  }
}

export async function runPeerCase(world: BenchWorld, sizes: BenchSizes, ours: DrainRun, progress: Progress): Promise<Figure[]> {
  progress(`case 5: matrix-js-sdk sliding sync drain of ${sizes.backlog}`);
  // loglevel's logger under the SDK's narrower type: silence its per-request chatter.
  (logger as unknown as { setLevel?: (level: string) => void }).setLevel?.('silent');
  const account = await world.device('PEER-SDK');
  world.queueBacklog(account.deviceId, sizes.backlog);
  const sdk = await drainWithSdk(account, sizes.backlog, 600_000);
  return [
    {
      caseNumber: 5, name: 'durable drain FULL vs matrix-js-sdk', value: ours.eventsPerS, baselineName: 'matrix-js-sdk SlidingSync, nothing durable',
      baseline: sdk.eventsPerS, unit: 'events/s', better: 'higher', target: { op: '>=', ratio: 1 }, note: `${sizes.backlog} messages, limit 100 both`,
    },
  ];
}
