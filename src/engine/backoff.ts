/**
 * Bounded, jittered exponential backoff for retrying a sync request (DESIGN.md §4.6).
 *
 * Runtime: common. A retry resends the same `since` (MSC3885: "If a response is lost, the client will retry the
 * request with the same `since` value"), so retrying is always safe; backing off keeps a struggling server from
 * being hammered by both processes. The delay for attempt n (0-based) is drawn from
 * [cap/2, cap) with cap = min(maxMs, baseMs * 2^n) ("equal jitter"), so two processes that failed together do not
 * retry in lockstep. A server's `retry_after_ms` (429 `M_LIMIT_EXCEEDED`) is honoured when it asks for longer,
 * up to `retryAfterCeilingMs` so a hostile value cannot park the client forever.
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
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) return jitteredMs;
  return Math.max(jitteredMs, Math.min(retryAfterMs, RETRY_AFTER_CEILING_MS));
}
