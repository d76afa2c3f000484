/**
 * Builds a `SyncEngine` for a real process (main or notifier) from the store and the stored account.
 *
 * Runtime: node. This is where production choices live: the system clock, real timers, the real `MatrixClient`
 * (node:http with keep-alive), a lease taken at once from a holder whose process is gone (holder-liveness.ts),
 * lease polls woken by other processes' commits (store-changes.ts), and kill points read from TODEVICE_KILL_AT /
 * TODEVICE_KILL_PROCESS (a malformed value throws: a harness that asked for a kill point must not silently run
 * without one). TODEVICE_LEASE_DURATION_MS sets this process's lease duration, so a person or a test reproducing
 * a race can make a lease that cannot lapse during it.
 */
import { systemClock } from '../shared/clock';
import type { Account } from '../store/account';
import type { ClientStore } from '../store/open-store';
import type { EngineEvent, Strategy, SyncEngineOptions } from './engine-types';
import { holderProcessGone } from './holder-liveness';
import { createProcessKillPoints, type KillPointConfig, type KillPoints } from './kill-points';
import { MatrixClient, type SyncTransport } from './matrix-client';
import { watchStoreChanges, type StoreChanges } from './store-changes';
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
  /**
   * Kill points already built for this process (`createProcessKillPoints`), when it hit them before the engine
   * existed: the nth hit then counts over both. Takes precedence over `killPoint`.
   */
  killPoints?: KillPoints;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: EngineEvent) => void;
  /** The device's Olm members (decryption at commit, the legacy write-back, e2ee counts), from src/device. */
  olm?: Pick<SyncEngineOptions, 'transformEvents' | 'afterCommit' | 'e2ee' | 'onE2ee'>;
  /**
   * What the engine syncs through, built around the client (the notifier holds responses back until its Olm
   * state is open, src/notifier/olm-opening.ts). Default: the client itself.
   */
  transport?: (client: MatrixClient) => SyncTransport;
  /**
   * Hints of other processes' commits for the lease's polls (store-changes.ts). Default: a new watch of the
   * store's `-wal` file, returned for the caller to share (main's inbox watch uses it) and to close.
   */
  storeChanges?: StoreChanges;
  /** Any other engine option (limit, leaseDurationMs, longPollTimeoutMs, backoff, …). */
  tuning?: Partial<Pick<SyncEngineOptions, 'limit' | 'leaseDurationMs' | 'longPollTimeoutMs' | 'backoff' | 'leasePollIntervalMs' | 'logEvents'>>;
}

/** Reads TODEVICE_LEASE_DURATION_MS: an integer from 100 ms to 10 minutes, or nothing. A bad value throws. */
export function leaseDurationFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.TODEVICE_LEASE_DURATION_MS;
  if (raw === undefined || raw === '') return undefined;
  const durationMs = Number(raw);
  if (!Number.isInteger(durationMs) || durationMs < 100 || durationMs > 600_000) {
    throw new Error(`TODEVICE_LEASE_DURATION_MS must be an integer from 100 to 600000, got "${raw}"`);
  }
  return durationMs;
}

export function createProcessEngine(input: ProcessEngineInput): { engine: SyncEngine; client: MatrixClient; killPoints: KillPoints; storeChanges: StoreChanges } {
  const pid = input.pid ?? process.pid;
  const leaseDurationMs = leaseDurationFromEnv(input.env);
  const client = new MatrixClient({ baseUrl: input.account.homeserverUrl, accessToken: input.account.accessToken });
  const killPoints = input.killPoints ?? createProcessKillPoints(input.processName, input.killPoint, input.env);
  const storeChanges = input.storeChanges ?? watchStoreChanges(input.store.path);
  const engine = new SyncEngine({
    store: input.store,
    client: input.transport === undefined ? client : input.transport(client),
    clock: systemClock,
    sleep: realSleep,
    random: seededRandom(pid ^ systemClock.nowMs()),
    processName: input.processName,
    pid,
    killPoints,
    leaseHolderGone: holderProcessGone,
    storeChanges,
    ...(input.strategy === undefined ? {} : { strategy: input.strategy }),
    ...(input.onEvent === undefined ? {} : { onEvent: input.onEvent }),
    ...(leaseDurationMs === undefined ? {} : { leaseDurationMs }),
    ...input.olm,
    ...input.tuning,
  });
  return { engine, client, killPoints, storeChanges };
}
