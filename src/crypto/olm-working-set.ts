/**
 * The Olm objects one decryption pass works on: the account and the sessions it unpickled from the state it was
 * given, and which of them changed.
 *
 * Runtime: node / electron-utility, after `loadOlm()`. A pass reads each pickle at most once, keeps the libolm
 * object while it decrypts several messages of one sender, and at `flush` pickles back only what changed (once
 * per changed object and pass, not once per message: pickling costs about half a decryption), then `free`s
 * everything. A failed decryption leaves a session object as it was: libolm checks the MAC on copies of the
 * chain keys and advances the ratchet only after that check passed (`olm::Ratchet::decrypt`, and
 * `verify_mac_and_decrypt_for_existing_chain` / `_for_new_chain` in libolm's ratchet.cpp), so the object still
 * holds every earlier success of the pass and no half-advanced state. The account is written with a
 * compare-and-set on the version this pass read; inside the commit's immediate transaction nobody can have
 * written in between, so a failed compare-and-set is a programmer error (the pass ran outside a transaction) and
 * throws, which rolls the commit back.
 */
import type { OlmAccountRecord, OlmSessionRecord, OlmStateStore } from '../shared/olm-state';
import { unpickleAccount, unpickleError } from './olm-account';
import { olm, type OlmAccount, type OlmSession } from './olm-library';
import type { PickleKey } from './pickle-key';

export interface SessionEntry {
  record: OlmSessionRecord;
  object: OlmSession | undefined;
  dirty: boolean;
  /**
   * Whether `record` is this pass's own copy, which it may update in place: the record read from the state is
   * copied once, at its first change, so the state's own objects are never changed behind its back.
   */
  owned: boolean;
}

export class OlmWorkingSet {
  private accountRecord: OlmAccountRecord | undefined;
  private account: OlmAccount | undefined;
  private accountDirty = false;
  private readonly sessions = new Map<string, SessionEntry[]>();

  constructor(
    private readonly state: OlmStateStore,
    private readonly pickleKey: PickleKey,
  ) {}

  /** The account object, unpickled on first use. */
  accountObject(): OlmAccount {
    if (this.account !== undefined) return this.account;
    const record = this.state.readAccount();
    if (record === undefined) throw new Error('no Olm account in the store: call ensureOlmAccount when the process starts');
    this.accountRecord = record;
    this.account = unpickleAccount(record.pickle, this.pickleKey);
    return this.account;
  }

  markAccountChanged(): void {
    if (this.account === undefined) throw new Error('markAccountChanged before the account was unpickled');
    this.accountDirty = true;
  }

  /** The sessions with `senderKey`, most recently used first (loaded from the state on first use). */
  sessionsFor(senderKey: string): SessionEntry[] {
    let entries = this.sessions.get(senderKey);
    if (entries === undefined) {
      entries = this.state.sessionsFor(senderKey).map((record) => ({ record, object: undefined, dirty: false, owned: false }));
      this.sessions.set(senderKey, entries);
    }
    return entries;
  }

  sessionObject(entry: SessionEntry): OlmSession {
    if (entry.object !== undefined) return entry.object;
    const session = new (olm().Session)();
    try {
      session.unpickle(this.pickleKey.forOlm(), entry.record.pickle);
    } catch (error) {
      session.free();
      throw unpickleError(error, 'Olm session');
    }
    entry.object = session;
    return session;
  }

  /** Records a successful use of `entry`; its object is pickled into the record at `flush`. */
  keepProgress(entry: SessionEntry, nowMs: number, counts: { received?: number; sent?: number }): void {
    if (entry.object === undefined) throw new Error('keepProgress for a session whose object was never used');
    if (!entry.owned) {
      entry.record = { ...entry.record };
      entry.owned = true;
    }
    entry.record.lastUsedAtMs = nowMs;
    entry.record.messagesReceived += counts.received ?? 0;
    entry.record.messagesSent += counts.sent ?? 0;
    entry.dirty = true;
    // Most recently used first, as the store orders them.
    const entries = this.sessionsFor(entry.record.senderKey);
    const index = entries.indexOf(entry);
    if (index > 0) {
      entries.splice(index, 1);
      entries.unshift(entry);
    }
  }

  /** Adds a session created in this pass (inbound from a pre-key message, or outbound). */
  addSession(senderKey: string, session: OlmSession, nowMs: number, counts: { received?: number; sent?: number }): SessionEntry {
    const entry: SessionEntry = {
      record: {
        senderKey,
        sessionId: session.session_id(),
        // Written at `flush`, from the object.
        pickle: '',
        createdAtMs: nowMs,
        lastUsedAtMs: nowMs,
        messagesReceived: counts.received ?? 0,
        messagesSent: counts.sent ?? 0,
      },
      object: session,
      dirty: true,
      owned: true,
    };
    this.sessionsFor(senderKey).unshift(entry);
    return entry;
  }

  /** Writes every changed session and, when it changed, the account (compare-and-set on the version read). */
  flush(nowMs: number): void {
    for (const entries of this.sessions.values()) {
      for (const entry of entries) {
        if (!entry.dirty) continue;
        if (entry.object === undefined) throw new Error('a changed Olm session lost its object before flush');
        entry.record = { ...entry.record, pickle: entry.object.pickle(this.pickleKey.forOlm()) };
        this.state.saveSession(entry.record);
        entry.dirty = false;
        // The state may keep the object it was given: a later change copies it again.
        entry.owned = false;
      }
    }
    if (this.accountDirty && this.account !== undefined && this.accountRecord !== undefined) {
      const pickle = this.account.pickle(this.pickleKey.forOlm());
      if (!this.state.compareAndSetAccount(this.accountRecord.version, { pickle }, nowMs)) {
        throw new Error('the Olm account changed while a decryption pass held it: run the pass inside the commit transaction');
      }
      this.accountRecord = { ...this.accountRecord, pickle, version: this.accountRecord.version + 1 };
      this.accountDirty = false;
    }
  }

  /** Frees every libolm object (call in `finally`). */
  free(): void {
    this.account?.free();
    this.account = undefined;
    for (const entries of this.sessions.values()) {
      for (const entry of entries) {
        entry.object?.free();
        entry.object = undefined;
      }
    }
  }
}
