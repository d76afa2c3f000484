import { describe, expect, it } from 'vitest';
import { backoffDelayMs, QUICK_RETRY_MS, syncRetryDelayMs } from '../../../src/engine/backoff';
import { seededRandom } from '../../../src/engine/timing';

const policy = { baseMs: 100, maxMs: 2000, maxRetries: 5 };

describe('backoff', () => {
  it('backoff: delays grow exponentially within [cap/2, cap) and never pass maxMs', () => {
    const random = seededRandom(42);
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const capMs = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
      const delayMs = backoffDelayMs(attempt, policy, random);
      expect(delayMs).toBeGreaterThanOrEqual(capMs / 2);
      expect(delayMs).toBeLessThan(capMs);
    }
  });

  it('backoff: jitter spreads two processes that failed together', () => {
    const a = backoffDelayMs(3, policy, seededRandom(1));
    const b = backoffDelayMs(3, policy, seededRandom(2));
    expect(a).not.toBe(b);
  });

  it('backoff: retry_after_ms is honoured when longer, within a ceiling', () => {
    expect(backoffDelayMs(0, policy, () => 0, 5000)).toBe(5000);
    expect(backoffDelayMs(5, policy, () => 0, 10)).toBe(1000);
    expect(backoffDelayMs(0, policy, () => 0, 10_000_000)).toBe(120_000);
    expect(backoffDelayMs(0, policy, () => 0, -5)).toBe(50);
  });

  it('backoff: a dropped connection or a 5xx is retried quickly once, then on the curve from its first step; a 429 starts on the curve', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 50; i += 1) {
      const quick = syncRetryDelayMs({ attempt: 0, policy, random, transient: true });
      expect(quick).toBeGreaterThanOrEqual(0);
      expect(quick).toBeLessThan(QUICK_RETRY_MS);
    }
    expect(syncRetryDelayMs({ attempt: 1, policy, random: () => 0, transient: true })).toBe(50);
    expect(syncRetryDelayMs({ attempt: 2, policy, random: () => 0, transient: true })).toBe(100);
    expect(syncRetryDelayMs({ attempt: 0, policy, random: () => 0, transient: false })).toBe(50);
    expect(syncRetryDelayMs({ attempt: 0, policy, random: () => 0, transient: true, retryAfterMs: 3000 })).toBe(3000);
  });
});
