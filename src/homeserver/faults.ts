/**
 * Fault injection per (user, device) and endpoint. Test tooling: it lives in memory on purpose.
 *
 * Runtime: node (homeserver only).
 *
 * Faults are consumed one request at a time, so "drop the next two responses" means exactly two. A fault
 * without `endpoint` applies to both sync kinds (sliding and classic), except a sliding sync request that only
 * asks for rooms (lists or room subscriptions, with no extension in the request or sticky on its connection): that
 * is a room-list connection, which can deliver no to-device message, so a fault meant for the device's to-device
 * sync is never spent on it (sliding-sync-route.ts). One with `endpoint` applies only to that endpoint's
 * requests (`keys/upload`, `keys/query`, `keys/claim`), so a test can drop a `/keys/upload` response while the
 * device keeps syncing. Order within a request:
 * 1. `error` answers before any processing, so nothing is acknowledged or stored (like a proxy failing early);
 * 2. the request is processed fully and committed (acknowledgement, batch, new `pos`; or the uploaded keys);
 * 3. `drop-response` then resets the connection, or `delay` holds the response back.
 * `expire-pos` is not queued here: it takes effect at once, in the database (see sliding-sync-connections.ts).
 */
import type { Fault, FaultEndpoint } from '../shared/admin-wire';
import { ErrCode } from '../shared/matrix-errors';
import { MatrixError } from './errors';
import type { ResponseFault } from './router';

type CountedFault = Exclude<Fault, { kind: 'expire-pos' }>;

export class FaultRegistry {
  private readonly pending = new Map<string, CountedFault[]>();

  add(userId: string, deviceId: string, fault: CountedFault): void {
    const key = faultKey(userId, deviceId);
    const list = this.pending.get(key) ?? [];
    list.push({ ...fault });
    this.pending.set(key, list);
  }

  clear(): void {
    this.pending.clear();
  }

  /** A snapshot of what is pending, for the admin listing. */
  list(): Array<{ user_id: string; device_id: string; fault: CountedFault }> {
    const result: Array<{ user_id: string; device_id: string; fault: CountedFault }> = [];
    for (const [key, faults] of this.pending) {
      const [userId, deviceId] = JSON.parse(key) as [string, string];
      for (const fault of faults) result.push({ user_id: userId, device_id: deviceId, fault: { ...fault } });
    }
    return result;
  }

  /** Step 1: throws the injected 429/500 when an `error` fault is pending for this device and endpoint. */
  throwIfErrorFault(userId: string, deviceId: string, endpoint: FaultEndpoint = 'sync'): void {
    const fault = this.consume(userId, deviceId, 'error', endpoint);
    if (fault?.kind !== 'error') return;
    if (fault.status === 429) {
      const extra = fault.retry_after_ms === undefined ? {} : { retry_after_ms: fault.retry_after_ms };
      throw new MatrixError(429, ErrCode.limitExceeded, 'injected fault: rate limited', extra);
    }
    throw new MatrixError(500, ErrCode.unknown, 'injected fault: internal server error');
  }

  /** Step 3: what to do with a computed response; `drop-response` wins over `delay` when both are pending. */
  responseFault(userId: string, deviceId: string, endpoint: FaultEndpoint = 'sync'): ResponseFault | undefined {
    if (this.consume(userId, deviceId, 'drop-response', endpoint) !== undefined) return { kind: 'drop' };
    const delay = this.consume(userId, deviceId, 'delay', endpoint);
    if (delay?.kind === 'delay') return { kind: 'delay', delayMs: delay.delay_ms };
    return undefined;
  }

  private consume(userId: string, deviceId: string, kind: CountedFault['kind'], endpoint: FaultEndpoint): CountedFault | undefined {
    const key = faultKey(userId, deviceId);
    const list = this.pending.get(key);
    const fault = list?.find((candidate) => candidate.kind === kind && (candidate.endpoint ?? 'sync') === endpoint);
    if (list === undefined || fault === undefined) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) list.splice(list.indexOf(fault), 1);
    if (list.length === 0) this.pending.delete(key);
    return fault;
  }
}

function faultKey(userId: string, deviceId: string): string {
  return JSON.stringify([userId, deviceId]);
}
