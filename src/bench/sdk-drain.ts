/**
 * One drain by matrix-js-sdk's own sliding sync client (`SlidingSync` with a to-device extension), the peer of
 * case 5.
 *
 * Fairness: the SDK's `ExtensionToDevice` is internal to its `SlidingSyncSdk` (which needs a whole client with
 * stores and crypto), so the extension here is a line-for-line copy of it minus the crypto pre-processing hook
 * (there is no crypto in this backlog): it sends `{since, limit: 100, enabled: true}`, maps every event with the
 * SDK's `mapToDeviceEvent` into a `MatrixEvent`, emits `ClientEvent.ToDeviceEvent`, and keeps `next_batch` only
 * in memory. Nothing the SDK does is durable, so this is the speed of a client that risks losing messages.
 * The clock runs from `start()` to the last event being emitted. It runs in the bench process, against the
 * homeserver process, exactly where our engine's drains run.
 *
 * Runtime: node.
 */
import { ClientEvent, createClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';
import { ExtensionState, SlidingSync, type Extension } from 'matrix-js-sdk/lib/sliding-sync.js';
import { mapToDeviceEvent } from 'matrix-js-sdk/lib/sync.js';
import type { Account } from '../store/account';
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

/** One drain of `expected` queued messages by the SDK's sliding sync, from `start()` to the last event emitted. */
export async function drainWithSdk(account: Account, expected: number, timeoutMs: number): Promise<DrainRun> {
  // loglevel's logger under the SDK's narrower type: silence its per-request chatter.
  (logger as unknown as { setLevel?: (level: string) => void }).setLevel?.('silent');
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
