/**
 * Noticing a homeserver that answers our `since` without having issued it.
 *
 * Runtime: node. MSC4538 has a server refuse a `since` it could not have issued (400 `M_INVALID_PARAM`, which
 * describe-failure.ts explains). Synapse instead echoes a `since` ahead of its stream back as `next_batch`, with
 * no events and no error (`handlers/sliding_sync/extensions.py`). That happens when the server's database was
 * reset or restored from an older copy: messages queued for us from then on sit at stream positions below our
 * token, a request with our token never returns them, and once the stream passes our token a `since` deletes
 * them unseen. From the client that looks exactly like an idle server, so the engine would wait for ever.
 *
 * The check: after a response that echoed our `since` with no events, at most once per `intervalMs`, probe
 * with a request that carries no `since` (it acknowledges nothing, on any server) on a connection of its own,
 * `limit` 1. The server cannot have issued our token when
 * - the probe returns a message, and a request with our `since` made right after it still returns none (a
 *   message that merely arrived in between is returned by the second request), or
 * - both tokens are bare integers (Synapse's stream positions) and the probe's `next_batch` is below ours.
 * Anything else, including a probe that fails, is taken as consistent; the next check comes an interval later.
 */
import type { Clock } from '../shared/clock';
import type { SyncTransport } from './matrix-client';

/** The engine's conclusion, reported like a failed request so every process says it in one line. */
export interface SinceNotIssuedError {
  kind: 'since-not-issued';
  message: string;
}

export const SINCE_ECHO_CHECK_INTERVAL_MS = 10 * 60_000;

export class SinceEchoCheck {
  private lastCheckMs: number | undefined;

  constructor(
    private readonly transport: SyncTransport,
    private readonly connId: string,
    private readonly limit: number,
    private readonly clock: Clock,
    private readonly intervalMs = SINCE_ECHO_CHECK_INTERVAL_MS,
  ) {}

  /** Whether an echoed `since` is due for a probe now. */
  due(since: string | null): since is string {
    if (since === null) return false;
    const now = this.clock.nowMs();
    return this.lastCheckMs === undefined || now - this.lastCheckMs >= this.intervalMs;
  }

  /** Probes as the module header says; undefined when the server is consistent (or the probe could not tell). */
  async probe(since: string, signal: AbortSignal): Promise<SinceNotIssuedError | undefined> {
    this.lastCheckMs = this.clock.nowMs();
    const connId = `${this.connId}-since-check`;
    const fresh = await this.transport.slidingSyncToDevice({ connId, timeoutMs: 0, toDevice: { enabled: true, limit: 1 }, signal });
    if (!fresh.ok) return undefined;
    if (fresh.value.events.length > 0) {
      const again = await this.transport.slidingSyncToDevice({
        connId,
        timeoutMs: 0,
        toDevice: { enabled: true, limit: Math.min(this.limit, 100), since },
        signal,
      });
      if (!again.ok || again.value.events.length > 0) return undefined;
      return notIssued(`it holds messages for this device that a request with this store's token (${since}) does not return`);
    }
    const serverPosition = fresh.value.nextBatch;
    if (/^\d+$/.test(since) && /^\d+$/.test(serverPosition) && BigInt(serverPosition) < BigInt(since)) {
      return notIssued(`its to-device stream is at ${serverPosition}, behind this store's token ${since}`);
    }
    return undefined;
  }
}

function notIssued(why: string): SinceNotIssuedError {
  return {
    kind: 'since-not-issued',
    message:
      `the homeserver answers this store's to-device token without having issued it: ${why}. Its database was ` +
      'probably reset or restored from an older copy; messages queued for this device since then would be ' +
      'acknowledged unseen. Start again with a new --data directory (or register the device again)',
  };
}
