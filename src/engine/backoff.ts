/**
 * Bounded, jittered exponential backoff for retrying a sync request (DESIGN.md §4.6).
 *
 * Runtime: common. A retry resends the same `since` (MSC3885: "If a response is lost, the client will retry the
 * request with the same `since` value"), so retrying is always safe; backing off keeps a struggling server from
 * being hammered by both processes. The delay for attempt n (0-based) is drawn from
 * [cap/2, cap) with cap = min(maxMs, baseMs * 2^n) ("equal jitter"), so two processes that failed together do not
 * retry in lockstep. A server's `retry_after_ms` (429 `M_LIMIT_EXCEEDED`) is honoured when it asks for longer,
 * up to `retryAfterCeilingMs` so a hostile value cannot park the client forever.
 *
 * `syncRetryDelayMs` is what the sync loop uses: a connection that dropped without an answer, or a 5xx, is
 * retried the first time after at most `QUICK_RETRY_MS` (jittered), then on the curve above starting from its
 * first step. Most such failures are one lost response or one failed request (the race harness injects one to
 * three in a row): a full first step (125-250 ms at the defaults) made every message waiting behind it that much
 * later, while the server is no more loaded than before. A 429 and any other retryable failure start on the
 * curve at once: the server asked us to slow down.
 */

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Consecutive failures after which the caller gives up. */
  maxRetries: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000, maxRetries: 10 };

const RETRY_AFTER_CEILING_MS = 120_000;

export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const exponent = Math.min(Math.max(0, attempt), 30);
  const capMs = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const jitteredMs = Math.floor(capMs / 2 + (random() * capMs) / 2);
  return honourRetryAfter(jitteredMs, retryAfterMs);
}

function honourRetryAfter(delayMs: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) return delayMs;
  return Math.max(delayMs, Math.min(retryAfterMs, RETRY_AFTER_CEILING_MS));
}

/** The first retry after a dropped connection or a 5xx comes within this bound (jittered from 0). */
export const QUICK_RETRY_MS = 50;

export function syncRetryDelayMs(input: {
  /** 0-based: 0 for the first retry. */
  attempt: number;
  policy: BackoffPolicy;
  random: () => number;
  /** A dropped connection or a 5xx (a transient failure, not a request to slow down). */
  transient: boolean;
  retryAfterMs?: number;
}): number {
  const { attempt, policy, random, transient, retryAfterMs } = input;
  if (!transient) return backoffDelayMs(attempt, policy, random, retryAfterMs);
  if (attempt > 0) return backoffDelayMs(attempt - 1, policy, random, retryAfterMs);
  const quickMs = Math.floor(random() * Math.min(policy.baseMs, QUICK_RETRY_MS));
  return honourRetryAfter(quickMs, retryAfterMs);
}
