/**
 * Builds a `SyncEngine` for a real process (main or notifier) from the store and the stored account.
 *
 * Runtime: node. This is where production choices live: the system clock, real timers, the real `MatrixClient`
 * (node:http with keep-alive), a lease taken at once from a holder whose process is gone (holder-liveness.ts),
 * and kill points read from TODEVICE_KILL_AT / TODEVICE_KILL_PROCESS (a malformed value throws: a harness that
 * asked for a kill point must not silently run without one).
 */
import { systemClock } from '../shared/clock';
import type { Account } from '../store/account';
import type { ClientStore } from '../store/open-store';
import type { EngineEvent, Strategy, SyncEngineOptions } from './engine-types';
import { holderProcessGone } from './holder-liveness';
import { createKillPoints, killPointConfigFromEnv, type KillPointConfig, type KillPoints } from './kill-points';
import { MatrixClient } from './matrix-client';
import { SyncEngine } from './sync-engine';
import { realSleep, seededRandom } from './timing';

export interface ProcessEngineInput {
  store: ClientStore;
  account: Account;
  /** `main` or `notifier` (also the sliding sync `conn_id` and the legacy token key). */
  processName: string;
  strategy?: Strategy;
  pid?: number;
  /** Explicit kill point; when absent the environment is read. */
  killPoint?: KillPointConfig;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: EngineEvent) => void;
  /** Any other engine option (limit, leaseDurationMs, longPollTimeoutMs, backoff, …). */
  tuning?: Partial<Pick<SyncEngineOptions, 'limit' | 'leaseDurationMs' | 'longPollTimeoutMs' | 'backoff' | 'leasePollIntervalMs' | 'logEvents'>>;
}

export function createProcessKillPoints(processName: string, killPoint?: KillPointConfig, env: NodeJS.ProcessEnv = process.env): KillPoints {
  if (killPoint !== undefined) return createKillPoints(killPoint, processName);
  const fromEnv = killPointConfigFromEnv(env);
  if (!fromEnv.ok) throw new Error(`TODEVICE_KILL_AT: ${fromEnv.error}`);
  return createKillPoints(fromEnv.value, processName);
}

export function createProcessEngine(input: ProcessEngineInput): { engine: SyncEngine; client: MatrixClient; killPoints: KillPoints } {
  const pid = input.pid ?? process.pid;
  const client = new MatrixClient({ baseUrl: input.account.homeserverUrl, accessToken: input.account.accessToken });
  const killPoints = createProcessKillPoints(input.processName, input.killPoint, input.env);
  const engine = new SyncEngine({
    store: input.store,
    client,
    clock: systemClock,
    sleep: realSleep,
    random: seededRandom(pid ^ systemClock.nowMs()),
    processName: input.processName,
    pid,
    killPoints,
    leaseHolderGone: holderProcessGone,
    ...(input.strategy === undefined ? {} : { strategy: input.strategy }),
    ...(input.onEvent === undefined ? {} : { onEvent: input.onEvent }),
    ...input.tuning,
  });
  return { engine, client, killPoints };
}
