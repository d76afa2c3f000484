/**
 * The sync engine's public vocabulary: strategies, options, step outcomes, summaries and events.
 *
 * Runtime: node.
 */
import type { InboxEventInput } from '../shared/olm-state';
import type { ToDeviceEvent } from '../shared/wire';
import type { Clock } from '../shared/clock';
import type { ClientStore } from '../store/open-store';
import type { DbError } from '../store/sqlite-errors';
import type { BackoffPolicy } from './backoff';
import type { MatrixClientError } from './http';
import type { KillPoints } from './kill-points';
import type { SyncTransport } from './matrix-client';
import type { E2eeReport } from './sync-responses';
import type { SinceNotIssuedError } from './since-echo-check';
import type { StoreChanges } from './store-changes';
import type { Sleep } from './timing';

import type { Strategy } from '../shared/strategies';

export { DEFAULT_STRATEGY, isStrategy, STRATEGIES, type Strategy } from '../shared/strategies';

export interface SyncEngineOptions {
  store: ClientStore;
  client: SyncTransport;
  clock: Clock;
  sleep: Sleep;
  /** Seeded in tests; used for backoff jitter only. */
  random: () => number;
  strategy?: Strategy;
  /** `main`, `notifier`, …: the sliding sync `conn_id`, the legacy token's key and the inbox's `fetched_by`. */
  processName: string;
  pid: number;
  killPoints?: KillPoints;
  /** MSC3885 `limit`, a positive integer (MSC4538). Default 100. */
  limit?: number;
  /** Default 3000. The holder renews at half of it while it long-polls. */
  leaseDurationMs?: number;
  /** Server-side wait of a `run` request. Default 30000. */
  longPollTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** Default `to-device`. */
  leaseKey?: string;
  /** How often a lease waiter retries and a long-polling holder looks for waiters. Default 25. */
  leasePollIntervalMs?: number;
  /**
   * Hints that another process committed to the store (store-changes.ts): the lease's polls (the waiter's, the
   * long-polling holder's watch, the holder's wait for its turn) then check again within a few milliseconds
   * instead of at their next interval. Default: none, the polls run on their interval alone (tests with a fake
   * clock rely on that).
   */
  storeChanges?: StoreChanges;
  /**
   * Asked about a holder whose lease has not expired: true when it is known to be gone, and its lease may be
   * taken at once (real processes pass `holderProcessGone`, holder-liveness.ts). Default: never, so a lease is
   * only taken once it expired or was released.
   */
  leaseHolderGone?: (holder: string) => boolean;
  /**
   * Turns a fetched batch into the inbox rows to append: the Olm decryption of DESIGN.md §8, built by the process
   * that wires the engine (src/crypto's `decryptToDeviceBatch` over src/store's `openOlmState`). The explicit
   * strategies run it inside the commit transaction, after its checks; `explicit-naive` and `legacy` run it
   * before their writes, with no coordination, as old apps decrypted. Default: rows are the events.
   */
  transformEvents?: (events: readonly ToDeviceEvent[], nowMs: number) => readonly InboxEventInput[];
  /**
   * Called after each batch this engine committed, outside the commit's transaction: the legacy strategies write
   * their in-memory Olm copy back here (last writer wins). Default: nothing.
   */
  afterCommit?: (nowMs: number) => void;
  /** Ask for the sync's end-to-end encryption fields (sliding sync `e2ee` extension; classic `/sync` sends them anyway). */
  e2ee?: boolean;
  /**
   * Called with the e2ee fields of a response once its batch was committed (or carried nothing new): one-time key
   * counts for the key upload, changed device lists. Not called for a stale or fenced batch.
   */
  onE2ee?: (report: E2eeReport, nowMs: number) => void;
  /** How often an echoed `since` may be probed (since-echo-check.ts). Default 10 minutes. */
  sinceEchoCheckIntervalMs?: number;
  /** Write events to the store's process event log (default true). */
  logEvents?: boolean;
  onEvent?: (event: EngineEvent) => void;
}

export type EngineError = MatrixClientError | DbError | SinceNotIssuedError;

/** What one `step()` did. A request step is followed by a commit step when it returned `received`. */
export type StepOutcome =
  | { kind: 'received'; since: string | null; nextBatch: string; eventCount: number }
  | { kind: 'committed'; nextBatch: string; eventCount: number; firstSeq: number | null; lastSeq: number | null }
  /** The response carried no events and the same token: nothing to write. */
  | { kind: 'unchanged'; since: string | null }
  /** Another process moved the token first: the batch was discarded; the server will deliver it again. */
  | { kind: 'stale' }
  /** This process lost the lease: the batch was discarded and processing must stop. */
  | { kind: 'fenced' }
  | { kind: 'lease-busy'; holder: string; expiresAtMs: number }
  /** A process waiting for the lease made the holder give up its long poll (DESIGN.md §4.4). */
  | { kind: 'preempted' }
  /** The connection was reset (`M_UNKNOWN_POS`); the next request opens a new one with the same `since`. */
  | { kind: 'unknown-pos' }
  /** A retryable failure: wait `delayMs`, then resend the same `since`. */
  | { kind: 'retry'; error: EngineError; delayMs: number; attempt: number }
  /** Not retryable, or retries exhausted. */
  | { kind: 'failed'; error: EngineError }
  | { kind: 'aborted' };

export type RunSummary = { kind: 'stopped' } | { kind: 'failed'; error: EngineError };

export interface DrainTotals {
  batches: number;
  events: number;
  stale: number;
  firstSeq: number | null;
  lastSeq: number | null;
}

export type CatchUpSummary =
  | ({ kind: 'caught-up' } & DrainTotals)
  /** The batch bound was reached before a short batch came back. */
  | ({ kind: 'batch-limit' } & DrainTotals)
  | { kind: 'lease-busy'; holder: string; expiresAtMs: number }
  | ({ kind: 'fenced' } & DrainTotals)
  | ({ kind: 'failed'; error: EngineError } & DrainTotals)
  | ({ kind: 'aborted' } & DrainTotals);

export type EngineEventKind =
  | 'request'
  | 'response'
  | 'commit'
  | 'unchanged'
  | 'stale'
  | 'fenced'
  | 'unknown-pos'
  | 'error'
  | 'anomaly'
  | 'lease-acquired'
  | 'lease-busy'
  | 'lease-lost'
  | 'lease-released'
  | 'lease-wanted'
  | 'preempted'
  | 'caught-up'
  | 'stopped';

export interface EngineEvent {
  kind: EngineEventKind;
  atMs: number;
  process: string;
  pid: number;
  detail: Record<string, unknown>;
}
