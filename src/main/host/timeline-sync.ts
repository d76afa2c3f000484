/**
 * The main process's room timeline: pages every joined room forward with `/messages` (the joined rooms as its
 * sliding sync room list says, room-list-follower.ts, so a room joined after start is followed and a room left
 * is no longer paged), decrypts Megolm events with the room keys it may see, and decrypts later what arrived
 * before its key (counted as late when that took longer than the grace period, src/store/timeline.ts).
 *
 * Runtime: node. Guarantees:
 * - An event is written with the token that follows its page, in one transaction, so a crash neither skips nor
 *   repeats events (src/store/timeline.ts).
 * - Keys come only from the shared database (src/store/room-keys.ts), imported incrementally by rowid at the
 *   start of a pass and again as each page arrives, before its events are first tried: the page is fetched over
 *   HTTP while the key may be committed by another path, and a key the store already held must not leave its
 *   message undecryptable until the next pass. The decryptor itself is memory only. After a restart the first pass imports them all again and retries every
 *   undecrypted event, so nothing depends on what a dead process remembered.
 * - Under `legacy` only the keys the `main` consumer stored are used: a legacy app never saw what its
 *   notification process fetched (F1), and this is where that costs the user a readable message.
 * - A pass that meets a network error stops there and says so; the next pass continues from the stored token.
 *   A room the server refuses to page (403: left since the room list was read) is dropped from the list, quietly.
 * Passes must not overlap; `TimelineSync.pass` serialises callers.
 */
import { createMegolmDecryptor, type MegolmDecryptor } from '../../crypto/megolm-decryptor';
import type { PickleKey } from '../../crypto/pickle-key';
import type { Strategy } from '../../engine/engine-types';
import type { MatrixClient, MatrixClientError } from '../../engine/matrix-client';
import type { Clock } from '../../shared/clock';
import { ENCRYPTED_EVENT_TYPE, megolmSessionId } from '../../shared/room-key-protocol';
import type { RoomEvent } from '../../shared/wire';
import type { Account } from '../../store/account';
import type { ClientStore } from '../../store/open-store';
import { roomKeysAfter } from '../../store/room-keys';
import { RoomListFollower } from './room-list-follower';
import {
  appendTimelinePage,
  markTimelineDecrypted,
  timelinePosition,
  undecryptedEntries,
  undecryptedInSessions,
  type TimelineEntry,
} from '../../store/timeline';

const PAGE_LIMIT = 100;
const MAX_PAGES_PER_ROOM_PER_PASS = 20;

export interface TimelinePassSummary {
  appended: number;
  decryptedLate: number;
  error?: MatrixClientError;
}

export interface TimelineSyncOptions {
  store: ClientStore;
  client: MatrixClient;
  account: Account;
  strategy: Strategy;
  /** The consumer whose keys `legacy` may use. */
  consumer: string;
  clock: Clock;
  /** Opens room keys sealed at rest with the pickle key (those that arrived Olm-encrypted). */
  pickleKey?: PickleKey;
}

export class TimelineSync {
  private decryptor: MegolmDecryptor | undefined;
  private keysRowid = 0;
  private running: Promise<TimelinePassSummary> | undefined;
  private readonly roomList: RoomListFollower;

  constructor(private readonly options: TimelineSyncOptions) {
    this.roomList = new RoomListFollower({ client: options.client, clock: options.clock });
  }

  /** One pass; a call while a pass runs waits for it and returns its summary. */
  pass(): Promise<TimelinePassSummary> {
    this.running ??= this.passNow().finally(() => (this.running = undefined));
    return this.running;
  }

  close(): void {
    this.decryptor?.close();
    this.decryptor = undefined;
  }

  private async passNow(): Promise<TimelinePassSummary> {
    const { store, client, account } = this.options;
    const firstPass = this.decryptor === undefined;
    const decryptor = (this.decryptor ??= await createMegolmDecryptor('rust-sdk', account.userId, account.deviceId, this.options.pickleKey === undefined ? {} : { pickleKey: this.options.pickleKey }));
    // After a restart the decryptor remembers nothing: every stored key is new to it and every undecrypted
    // event is worth a retry.
    let decryptedLate = firstPass ? await this.importAndRetryAll(decryptor) : await this.catchUpOnKeys(decryptor);

    const rooms = await this.roomList.joinedRooms();
    if (!rooms.ok) return { appended: 0, decryptedLate, error: rooms.error };
    let appended = 0;
    for (const roomId of rooms.value) {
      for (let page = 0; page < MAX_PAGES_PER_ROOM_PER_PASS; page += 1) {
        const from = timelinePosition(store, roomId);
        const fetched = await client.roomMessagesForward(roomId, from, PAGE_LIMIT);
        if (!fetched.ok && isForbidden(fetched.error)) {
          // Left since the room list was last read: not an error, and the other rooms are still paged.
          this.roomList.forget(roomId);
          break;
        }
        if (!fetched.ok) return { appended, decryptedLate, error: fetched.error };
        // Keys committed while the page was on its way are imported before its first attempts: a message
        // must not count as undecryptable (and then as late) for a key the store held when it was paged.
        decryptedLate += await this.catchUpOnKeys(decryptor);
        const entries: TimelineEntry[] = [];
        for (const event of fetched.value.events) {
          const entry = await this.firstAttempt(decryptor, event);
          if (entry !== undefined) entries.push(entry);
        }
        if (fetched.value.events.length > 0 || from === undefined) appendTimelinePage(store, roomId, entries, fetched.value.end);
        appended += entries.length;
        if (fetched.value.events.length < PAGE_LIMIT) break;
      }
    }
    return { appended, decryptedLate };
  }

  /** Imports the keys stored since the last import and retries the stored events they unlock. */
  private async catchUpOnKeys(decryptor: MegolmDecryptor): Promise<number> {
    const sessions = await this.importNewKeys(decryptor);
    return this.retry(decryptor, undecryptedInSessions(this.options.store, sessions));
  }

  private async importAndRetryAll(decryptor: MegolmDecryptor): Promise<number> {
    await this.importNewKeys(decryptor);
    return this.retry(decryptor, undecryptedEntries(this.options.store));
  }

  private async retry(decryptor: MegolmDecryptor, entries: readonly TimelineEntry[]): Promise<number> {
    let decrypted = 0;
    for (const entry of entries) if (await this.retryEntry(decryptor, entry)) decrypted += 1;
    return decrypted;
  }

  private async importNewKeys(decryptor: MegolmDecryptor): Promise<string[]> {
    const scope = this.options.strategy === 'legacy' ? { storedBy: this.options.consumer } : {};
    const { keys, lastRowid } = roomKeysAfter(this.options.store, this.keysRowid, scope);
    this.keysRowid = lastRowid;
    return decryptor.importKeys(keys);
  }

  /** The timeline entry for a freshly paged event: messages only (state events are not shown). */
  private async firstAttempt(decryptor: MegolmDecryptor, event: RoomEvent): Promise<TimelineEntry | undefined> {
    const base = { eventId: event.event_id, roomId: event.room_id, sender: event.sender, originServerTs: event.origin_server_ts, seenAtMs: this.options.clock.nowMs(), late: false };
    if (event.type === 'm.room.message') {
      const body = typeof event.content.body === 'string' ? event.content.body : '';
      return { ...base, sessionId: null, body, decryptedAtMs: base.seenAtMs, ciphertext: null };
    }
    if (event.type !== ENCRYPTED_EVENT_TYPE) return undefined;
    const outcome = await decryptor.decrypt(event);
    const sessionId = megolmSessionId(event.content) ?? '';
    if (outcome.kind !== 'decrypted') return { ...base, sessionId, body: null, decryptedAtMs: null, ciphertext: JSON.stringify(event) };
    const body = typeof outcome.content.body === 'string' ? outcome.content.body : `(${outcome.type})`;
    return { ...base, sessionId, body, decryptedAtMs: base.seenAtMs, ciphertext: null };
  }

  private async retryEntry(decryptor: MegolmDecryptor, entry: TimelineEntry): Promise<boolean> {
    if (entry.ciphertext === null) return false;
    const outcome = await decryptor.decrypt(JSON.parse(entry.ciphertext) as RoomEvent);
    if (outcome.kind !== 'decrypted') return false;
    const body = typeof outcome.content.body === 'string' ? outcome.content.body : `(${outcome.type})`;
    markTimelineDecrypted(this.options.store, entry.eventId, body, this.options.clock.nowMs());
    return true;
  }
}

/** The server's refusal to page a room for the user: 403, as for a room the user is no longer in. */
function isForbidden(error: MatrixClientError): boolean {
  return error.kind === 'http' && error.status === 403;
}
