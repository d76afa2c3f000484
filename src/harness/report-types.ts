/**
 * The race report: what `runRace` returns, `todevice race --json` prints and report.json holds.
 *
 * Runtime: common in spirit (plain data, JSON-safe), kept in src/harness because only the harness builds it.
 * The schema is documented in README.md under "Race report JSON"; `schema` names its version, and a change that
 * removes or renames a field must bump it.
 */
import type { OlmDecryptionFailure } from '../shared/olm-state';
import type { Strategy } from '../shared/strategies';
import type { LoopDelaySummary } from './loop-delay';
import type { RaceOptions } from './race-options';

export const RACE_REPORT_SCHEMA = 'todevice.race-report/1';

/** Delivery figures for one sending device, or for all of them. */
export interface DeliveryCounts {
  /** Messages the homeserver accepted from the sender (the send returned 200). */
  sent: number;
  /** Distinct sent messages the main consumer handled. */
  delivered: number;
  /** Sent messages the main consumer never handled, after the liveness phase converged. */
  lost: number;
  /** Extra handlings: handled rows minus distinct messages. */
  duplicated: number;
  /** First handlings that came after a later message of the same sender (per-sender order broken). */
  reordered: number;
}

export interface LatencySummary {
  /** Send to first handling by the main consumer, over delivered messages. */
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface TimelinePoint {
  /** Offset from the start of the safety phase. */
  atMs: number;
  /** Messages handled by the main consumer so far. */
  handled: number;
}

export interface FaultEvent {
  atMs: number;
  kind: string;
  detail?: string;
}

/** What lost room keys cost, after the liveness phase converged (decryption-oracle.ts). */
export interface EncryptionFigures {
  /** Encrypted room messages the homeserver accepted (each with its own Megolm session and key). */
  roomMessages: number;
  /** Notifications shown by notifier runs, by outcome; a killed notifier shows none. */
  notifications: { shown: number; decrypted: number; unableToDecrypt: number };
  /**
   * The sent room messages in the main process's timeline: decrypted (of which `late`: their key came more than
   * `LATE_DECRYPTION_GRACE_MS`, 2 s, after the message was first paged in, so the user saw it undecryptable),
   * still unable to decrypt, or never paged in.
   */
  timeline: { paged: number; decrypted: number; late: number; unableToDecrypt: number; notPaged: number };
  /** Up to 10 Megolm session IDs whose message stayed undecryptable. */
  undecryptableSample: string[];
}

/**
 * What the device's Olm state cost, after the liveness phase converged (olm-oracle.ts says where each figure is
 * measured). Every harm figure must be 0 for explicit-cas and explicit-lease.
 */
export interface OlmFigures {
  /** Olm decryptions that succeeded (the device's counter; a retry after `/keys/query` included). */
  decrypted: number;
  /** Messages that waited for `/keys/query` (`unknown-device`) and were decrypted after it: not harm. */
  decryptedAfterQuery: number;
  /** Olm messages that were never decrypted, by the reason of their latest row (every reason listed, zero included). */
  failures: Record<OlmDecryptionFailure, number>;
  /** Sum of `failures`. */
  failed: number;
  /** Redelivered copies of a message another row decrypted, which failed because its message key was spent. */
  undecryptableRedeliveries: number;
  /** `undecryptableRedeliveries` by reason (`replayed` when the device knew the message, a session error when not). */
  redeliveryFailures: Record<OlmDecryptionFailure, number>;
  /** Sender devices whose messages failed with a session error (no session, bad MAC, one-time key gone). */
  wedgedSessions: number;
  /** Key uploads the homeserver refused with 400 "One time key ... already exists" (one key ID, two keys). */
  oneTimeKeysUploadedTwice: number;
  /** Pre-key messages whose one-time key the device no longer held (`failures['one-time-key-gone']`). */
  oneTimeKeysLost: number;
  /** New sessions with an `m.dummy` sent to wedged devices (the recovery). */
  recoveries: number;
  /** Sent room messages undecryptable in the main timeline because their key's Olm message was never decrypted. */
  unableToDecrypt: number;
}

export interface StrategyReport {
  strategy: Strategy;
  /** True for explicit-cas and explicit-lease, whose invariants must hold. */
  mustBeSafe: boolean;
  /** For a safe strategy: no violation. For the others: always true (their losses are the expected result). */
  ok: boolean;
  totals: DeliveryCounts;
  perSender: Array<DeliveryCounts & { sender: string }>;
  latency: LatencySummary;
  /**
   * Every delivered message's latency (send to first handling by main), sorted ascending, so a campaign can pool
   * its seeds (campaign-latency.ts). Absent in reports written before it existed.
   */
  latencySamplesMs?: number[];
  /**
   * The first part of that latency, send to stored in the inbox by any process (what the strategy decides; the
   * rest is how long main took to get to the row), over the same messages; absent in reports written before it.
   */
  storeLatency?: LatencySummary;
  /** Its samples, sorted ascending, for a campaign to pool. */
  storeLatencySamplesMs?: number[];
  /**
   * The same latency split at the schedule's floor (main-availability.ts): `forced`, the time from the send to
   * the handling in which the faults left no main process able to handle the message (none running that did
   * anything, main stopped, the write lock held), set by the seed's faults rather than by the strategy; `beyond`,
   * the rest, the time a main process could have handled it, which the strategy added.
   * Absent in reports written before it existed.
   */
  scheduleFloor?: { forced: LatencySummary; beyond: LatencySummary };
  /** The `beyond` samples, sorted ascending, for a campaign to pool. */
  beyondFloorSamplesMs?: number[];
  /**
   * How late the harness's own event loop, which also runs the embedded homeserver, ran during the safety phase
   * (loop-delay.ts): every server answer waited for it. Absent in reports written before it existed.
   */
  harnessLoopDelay?: LoopDelaySummary;
  /** Faults actually injected, by kind (`kill-main-point`, `kill-notifier-random`, `drop-response`, …). */
  faults: Record<string, number>;
  /** Faults the schedule planned, by kind (some cannot land, e.g. a kill point a strategy never reaches). */
  plannedFaults: Record<string, number>;
  kills: number;
  /** Requests whose batch was thrown away: stale (compare-and-set lost) plus fenced (lease lost) commits. */
  wastedRequests: { stale: number; fenced: number; total: number };
  server: { accepted: number; deliveredIncludingRedeliveries: number; deleted: number; queuedAtEnd: number };
  notifiers: { launched: number; finished: number; killed: number; failed: number; dataMissing: number };
  encryption: EncryptionFigures;
  olm: OlmFigures;
  mainRestarts: number;
  liveness: { converged: boolean; convergedAfterMs: number | null };
  /** Invariant violations found by the checkers during the run and by the oracle at its end. */
  violations: string[];
  /** Up to 20 lost tags, to start an investigation from. */
  lostSample: string[];
  /**
   * What is worth knowing beyond the figures, in sentences (failed sends, notifier errors, faults that could not
   * be injected, what the homeserver logged), summed up from `diagnostics`.
   */
  notes: string[];
  /** The raw lines the notes sum up, each prefixed with its source (`homeserver:`, `main stderr:`, …). */
  diagnostics: string[];
  safetyPhaseMs: number;
  elapsedMs: number;
  timeline: TimelinePoint[];
  faultTimeline: FaultEvent[];
}

export interface RaceReport {
  schema: typeof RACE_REPORT_SCHEMA;
  seed: number;
  options: RaceOptions;
  /** Digest of the fault and traffic schedule: the same seed and options give the same hash. */
  scheduleHash: string;
  /** How the app's process entries were started: `bundle` (esbuild, plain node) or `tsx`. */
  processMode: 'bundle' | 'tsx';
  startedAt: string;
  elapsedMs: number;
  strategies: StrategyReport[];
  /** False when a safe strategy violated an invariant: `todevice race` then exits 1. */
  ok: boolean;
  /** The command that replays this run with the same schedule. */
  reproduce: string;
}

/** Progress of a running race, for stderr lines and the dashboard. */
export interface RaceProgress {
  strategy: Strategy;
  phase: 'starting' | 'safety' | 'liveness' | 'done';
  /** Since the safety phase began. */
  elapsedMs: number;
  /** Since the current phase began (the liveness phase starts once the safety phase has wound down). */
  phaseElapsedMs: number;
  safetyPhaseMs: number;
  /** The bound of the liveness phase, which follows the safety phase. */
  livenessTimeoutMs: number;
  sent: number;
  plannedSends: number;
  handled: number;
  kills: number;
  faults: number;
}
