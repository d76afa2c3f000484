/**
 * How old apps held their Olm state, for the `legacy` and `explicit-naive` strategies: each process loads the
 * account and every session when it starts, decrypts with its own in-memory copy, and writes its whole copy back
 * with no coordination (last writer wins).
 *
 * Runtime: node / electron-utility. `OlmMemoryState` is an `OlmStateStore`, so the very same decryption code
 * (olm-decrypt.ts) and key lifecycle run on it; only where the account and sessions live differs. Everything else
 * (device keys, counters, replay hashes, wedged records) goes straight to the shared store given as `base`, which
 * is not what made old apps lose keys and keeps the harness's counters in one place. `immediate` gives no
 * isolation: a copy is private to its process until `flush`, which overwrites what another process wrote since.
 * That is the harm the harness measures (wedged sessions, one-time keys lost or resurrected); nothing here
 * tries to prevent it.
 */
import type { OlmAccountChanges, OlmAccountRecord, OlmSessionRecord, OlmSnapshot, OlmStateStore } from '../shared/olm-state';

/** Reads and writes a whole snapshot; src/store/olm-state.ts provides it (`readOlmSnapshot`, `writeOlmSnapshot`). */
export interface OlmSnapshotIo {
  read(): OlmSnapshot;
  write(snapshot: OlmSnapshot, nowMs: number): void;
}

export class OlmMemoryState implements OlmStateStore {
  private account: OlmAccountRecord | undefined;
  private readonly sessions = new Map<string, OlmSessionRecord>();

  private constructor(
    snapshot: OlmSnapshot,
    private readonly base: OlmStateStore,
    private readonly io: OlmSnapshotIo,
  ) {
    this.account = snapshot.account === undefined ? undefined : { ...snapshot.account };
    for (const session of snapshot.sessions) this.sessions.set(sessionKey(session), { ...session });
  }

  /** Loads this process's copy now (at process start, as old apps did). */
  static load(io: OlmSnapshotIo, base: OlmStateStore): OlmMemoryState {
    return new OlmMemoryState(io.read(), base, io);
  }

  /** Writes the whole copy back over whatever is stored. */
  flush(nowMs: number): void {
    this.io.write(this.snapshot(), nowMs);
  }

  snapshot(): OlmSnapshot {
    return { account: this.account === undefined ? undefined : { ...this.account }, sessions: [...this.sessions.values()].map((session) => ({ ...session })) };
  }

  immediate<T>(work: () => T): T {
    return work();
  }

  readAccount(): OlmAccountRecord | undefined {
    return this.account === undefined ? undefined : { ...this.account };
  }

  insertAccount(record: OlmAccountRecord): boolean {
    if (this.account !== undefined) return false;
    this.account = { ...record };
    return true;
  }

  compareAndSetAccount(expectedVersion: number, changes: OlmAccountChanges, nowMs: number): boolean {
    if (this.account === undefined || this.account.version !== expectedVersion) return false;
    this.account = { ...this.account, ...changes, version: expectedVersion + 1, updatedAtMs: nowMs };
    return true;
  }

  sessionsFor(senderKey: string): OlmSessionRecord[] {
    return [...this.sessions.values()]
      .filter((session) => session.senderKey === senderKey)
      .sort((a, b) => b.lastUsedAtMs - a.lastUsedAtMs || a.sessionId.localeCompare(b.sessionId))
      .map((session) => ({ ...session }));
  }

  saveSession(record: OlmSessionRecord): void {
    this.sessions.set(sessionKey(record), { ...record });
  }

  deviceByCurve25519(userId: string, curve25519: string): ReturnType<OlmStateStore['deviceByCurve25519']> {
    return this.base.deviceByCurve25519(userId, curve25519);
  }

  device(userId: string, deviceId: string): ReturnType<OlmStateStore['device']> {
    return this.base.device(userId, deviceId);
  }

  saveDevice(record: Parameters<OlmStateStore['saveDevice']>[0]): void {
    this.base.saveDevice(record);
  }

  readKeyCounts(): ReturnType<OlmStateStore['readKeyCounts']> {
    return this.base.readKeyCounts();
  }

  writeKeyCounts(counts: Parameters<OlmStateStore['writeKeyCounts']>[0]): void {
    this.base.writeKeyCounts(counts);
  }

  isMessageKnown(senderKey: string, messageHash: string): boolean {
    return this.base.isMessageKnown(senderKey, messageHash);
  }

  rememberMessages(senderKey: string, messageHashes: readonly string[], nowMs: number): void {
    this.base.rememberMessages(senderKey, messageHashes, nowMs);
  }

  countOutcome(outcome: string, nowMs: number, count?: number): void {
    this.base.countOutcome(outcome, nowMs, count);
  }

  readWedged(senderKey: string): ReturnType<OlmStateStore['readWedged']> {
    return this.base.readWedged(senderKey);
  }

  saveWedged(record: Parameters<OlmStateStore['saveWedged']>[0]): void {
    this.base.saveWedged(record);
  }

  listWedged(): ReturnType<OlmStateStore['listWedged']> {
    return this.base.listWedged();
  }
}

function sessionKey(session: Pick<OlmSessionRecord, 'senderKey' | 'sessionId'>): string {
  return `${session.senderKey}\u0000${session.sessionId}`;
}
