/**
 * Delivers Push Gateway notifications (`POST <pusher url>`, which is `/_matrix/push/v1/notify`).
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - Never blocks or fails the request that caused it: `schedule` returns at once, delivery runs detached.
 * - Bounded: at most `PUSH_ATTEMPTS` tries per notification, `PUSH_ATTEMPT_TIMEOUT_MS` each, with doubling
 *   backoff; failures are logged, never thrown.
 * - A gateway answering `{rejected: [pushkey]}` gets that pusher removed, as the Push Gateway API asks.
 * - `close()` aborts everything in flight, so a stopped homeserver leaves no timers or sockets behind.
 */
import type { PushNotifyRequest } from '../shared/wire';

export const PUSH_ATTEMPTS = 3;
export const PUSH_ATTEMPT_TIMEOUT_MS = 5000;
export const PUSH_BACKOFF_MS_BASE = 100;

export interface PushDelivery {
  url: string;
  pushkey: string;
  request: PushNotifyRequest;
}

export class PushSender {
  private readonly controller = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly onRejected: (pushkey: string, url: string) => void,
  ) {}

  schedule(delivery: PushDelivery): void {
    if (this.controller.signal.aborted) return;
    const task = this.deliver(delivery).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** Resolves when every delivery scheduled so far has finished (tests use it to avoid sleeping). */
  async settle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.settle();
  }

  private async deliver(delivery: PushDelivery): Promise<void> {
    const signal = this.controller.signal;
    for (let attempt = 1; attempt <= PUSH_ATTEMPTS && !signal.aborted; attempt += 1) {
      const outcome = await this.attempt(delivery, signal);
      if (outcome === 'ok') return;
      this.log(`push: attempt ${attempt}/${PUSH_ATTEMPTS} to ${delivery.url} failed: ${outcome}`);
      if (attempt < PUSH_ATTEMPTS) await backoff(PUSH_BACKOFF_MS_BASE * 2 ** (attempt - 1), signal);
    }
  }

  private async attempt(delivery: PushDelivery, signal: AbortSignal): Promise<'ok' | string> {
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(delivery.request),
        signal: AbortSignal.any([signal, AbortSignal.timeout(PUSH_ATTEMPT_TIMEOUT_MS)]),
      });
      const text = await response.text();
      if (!response.ok) return `HTTP ${response.status}`;
      if (rejectedPushkeys(text).includes(delivery.pushkey)) this.onRejected(delivery.pushkey, delivery.url);
      return 'ok';
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}

function rejectedPushkeys(text: string): string[] {
  try {
    const parsed = JSON.parse(text) as { rejected?: unknown };
    return Array.isArray(parsed.rejected) ? parsed.rejected.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

function backoff(delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, delayMs);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
