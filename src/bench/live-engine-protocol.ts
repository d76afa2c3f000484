/**
 * What the live-latency engine process (src/bench/live-engine/index.ts) tells the bench over IPC.
 *
 * Runtime: node. Times are `process.hrtime.bigint()` in nanoseconds, as decimal strings (IPC's JSON has no
 * bigint). That clock is the machine's monotonic clock (CLOCK_MONOTONIC on Linux), one clock for every
 * process, so the engine process's commit time and the bench process's send start compare directly.
 */

export type LiveEngineMessage =
  /** The engine's first long poll is open: samples may start. */
  | { kind: 'ready' }
  /** A batch with `eventCount` events became durable at `atNs`. */
  | { kind: 'commit'; atNs: string; eventCount: number }
  /** The engine stopped with an error (the bench reports it and fails the case). */
  | { kind: 'failed'; error: string };

export function isLiveEngineMessage(value: unknown): value is LiveEngineMessage {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return kind === 'ready' || kind === 'commit' || kind === 'failed';
}

/** The environment variable carrying the account (JSON) to the engine process. */
export const LIVE_ENGINE_ACCOUNT_ENV = 'TODEVICE_BENCH_ACCOUNT';
