/**
 * One notifier run, start to exit: what a phone's notification extension does for one push.
 *
 * Runtime: node / electron-utility (no Electron import). Steps, each bounded:
 *  1. open the shared store and read the account the main process saved; start opening the device's Olm state
 *     (libolm, the pickle key, the account), which it shares with the main process through the store, and
 *     start fetching the pushed event: both run while step 2 waits for the lease. Under `explicit-lease` the
 *     Olm state opens only once something needs it (olm-opening.ts): a batch carrying an Olm-encrypted event, an
 *     encrypted pushed event, or Olm upkeep waiting; a run that needs none of these never loads libolm;
 *  2. sync to-device for its push (sync-for-push.ts), under the lease, which it gets within `leaseWaitMs`
 *     because a main process in a long poll yields it when asked through the database (DESIGN.md §4.4); it asks
 *     at once but takes the lease only once its Olm state is open, so it never holds up other processes while it
 *     could not commit (olm-opening.ts), and nothing commits when the state cannot be opened.
 *     Skipped when another live process holds the lease and the pushed event's room key is already stored
 *     (pushed-key.ts); then, once its push is shown (step 5), it takes one pass of its own unless a main
 *     process holds the lease, because another notifier holding it makes one pass and exits;
 *  3. advance the `notifier` cursor over the inbox (effect and cursor in one transaction); this is where the
 *     room keys it (or any process) committed are stored for it. Rows older than its retention window
 *     (src/store/retention-policy.ts) are passed over first, counted as skipped, their room keys kept;
 *  4. if the pushed event is encrypted, decrypt it (Megolm, through libolm's InboundGroupSession) with the room
 *     keys it may see; build the notification (the plaintext, or a plain "unable to decrypt");
 *  5. record what it showed and report it; then the pass of its own that step 2 left for later, if any; exit.
 * A SIGKILL anywhere loses nothing: every to-device event it fetched was committed with the token before it was
 * acknowledged, so the main process (or the next notifier) handles it from the inbox, keys included (the
 * `notifier-before-display` kill point sits between steps 3 and 4 to prove it).
 */
import path from 'node:path';
import { createMegolmDecryptor } from '../crypto/megolm-decryptor';
import { loadOlm } from '../crypto/olm-library';
import type { PickleKey, PickleKeySource } from '../crypto/pickle-key';
import type { DecryptOutcome } from '../crypto/room-decryptor';
import { olmUpkeepWaitsBesidesKeys, openOlmDevice, recordE2eeReport, type OlmDevice } from '../device/olm-device';
import { consumeInbox } from '../engine/consumer';
import { createProcessEngine } from '../engine/create-engine';
import type { CatchUpSummary } from '../engine/engine-types';
import { applyInboxEffects } from '../engine/inbox-effects';
import type { KillPoints } from '../engine/kill-points';
import type { MatrixClientError } from '../engine/http';
import type { MatrixClient } from '../engine/matrix-client';
import { systemClock } from '../shared/clock';
import { CLIENT_DB_FILE } from '../shared/data-layout';
import { PAYLOAD_EVENT_TYPE, PAYLOAD_TAG_FIELD } from '../shared/demo-protocol';
import type { NotifierMessage } from '../shared/notifier-messages';
import type { Result } from '../shared/result';
import { ENCRYPTED_EVENT_TYPE, megolmSessionId } from '../shared/room-key-protocol';
import type { RoomEvent } from '../shared/wire';
import { readAccount, type Account } from '../store/account';
import { findInboxRowsByTag } from '../store/inbox';
import { recordNotification } from '../store/notification-log';
import { MAIN_CONSUMER, NOTIFIER_CONSUMER } from '../store/cursors';
import type { SyncEngine } from '../engine/sync-engine';
import { openOlmState } from '../store/olm-state';
import { openStore, type ClientStore } from '../store/open-store';
import { retentionPolicyOf } from '../store/retention-policy';
import { withheldForSession } from '../store/room-key-withheld';
import { roomKeyForSession, roomKeyInInbox } from '../store/room-keys';
import { classifySqliteError } from '../store/sqlite-errors';
import { buildNotification, fetchFailedNotification, type BuiltNotification, type PayloadRow } from './notification-text';
import type { NotifierOptions } from './notifier-options';
import { watchStoreChanges } from '../engine/store-changes';
import { readyForLease } from './lease-readiness';
import { OlmOpening } from './olm-opening';
import { pushedEventKeyStored } from './pushed-key';
import { syncForPush } from './sync-for-push';

export const NOTIFIER_PROCESS = NOTIFIER_CONSUMER;
/** The `finished` outcome of a run that showed its push without syncing (its key was stored, a main process held the lease). */
export const KEY_STORED_OUTCOME = 'key-stored';

/**
 * Most inbox rows one run moves its cursor over (after those its window passes over): a notifier needs the
 * recent rows, not a backlog, which waits for the main process or the next notifier (sync-for-push.ts).
 */
export const NOTIFIER_MAX_CURSOR_ROWS = 1_000;

/**
 * SQLite's page cache for the notifier's connection, in KiB (better-sqlite3 builds SQLite with 16,000). A run
 * commits a few passes of batches and moves its cursor over at most `NOTIFIER_MAX_CURSOR_ROWS` rows, reading each
 * page once or twice: with the default, the pages it had read once stayed cached, 3 to 6 MB of a notifier's
 * resident memory in the contention bench (measured), the most its memory grew by in any step after start.
 * Pages it needs again come back from the OS's file cache (the WAL index is shared memory either way).
 */
export const NOTIFIER_CACHE_KIB = 512;

/** Runs the notifier and returns its exit code (0 also when the data was missing: that is a shown result). */
/** `pickleKeySource`: where the pickle key comes from (default: the `pickle-key` file beside the store). */
export async function runNotifier(options: NotifierOptions, report: (message: NotifierMessage) => void, pickleKeySource?: PickleKeySource): Promise<number> {
  const startedAtMs = systemClock.nowMs();
  const pid = process.pid;
  // Under explicit-lease the Olm state opens only when something needs it (olm-opening.ts); otherwise libolm's
  // WebAssembly compiles while the store opens, and a failure is reported by openOlmDevice's own attempt.
  const onDemand = options.strategy === 'explicit-lease';
  if (!onDemand) loadOlm().catch(() => undefined);
  const store = openStore(path.join(options.dataDir, CLIENT_DB_FILE), { create: false, cacheSizeKib: NOTIFIER_CACHE_KIB });
  // Wakes the lease wait at the holder's commits: its release, the key this push needs (store-changes.ts).
  const storeChanges = watchStoreChanges(store.path);
  try {
    const account = readAccount(store);
    if (account === undefined) {
      report({ kind: 'failed', pid, error: `no account in ${options.dataDir}: start the main process first` });
      return 1;
    }
    report({ kind: 'started', pid, eventId: options.eventId, roomId: options.roomId });
    // The Olm state opens while the notifier waits for the lease, or, under explicit-lease, once something needs
    // it; the lease is taken once the pushed event's fetch said whether it is needed and an opening under way is
    // done (lease-readiness.ts); no batch that needs decryption commits before it is open (olm-opening.ts).
    const openDevice = () =>
      openOlmDevice({ store, account, strategy: options.strategy, processName: NOTIFIER_PROCESS, pid, ...(pickleKeySource === undefined ? {} : { pickleKeySource }) });
    const sharedOlmState = openOlmState(store);
    const opening = new OlmOpening(openDevice, onDemand ? { onE2ee: (report, nowMs) => void recordE2eeReport(sharedOlmState, report, nowMs) } : undefined);
    const { engine, client, killPoints } = createProcessEngine({
      store,
      account,
      processName: NOTIFIER_PROCESS,
      strategy: options.strategy,
      olm: opening.hooks(),
      transport: (matrixClient) => opening.gate(matrixClient),
      storeChanges,
    });
    // The pushed event is fetched alongside the sync: it depends on nothing the sync brings. An encrypted one
    // needs the Olm state (its Megolm key is unsealed with the pickle key, decrypted by libolm): it starts opening
    // as soon as that is known.
    const fetching = client.getEvent(options.roomId, options.eventId);
    void fetching.then((fetched) => {
      if (fetched.ok && fetched.value.type === ENCRYPTED_EVENT_TYPE) void opening.start();
    });
    const legacy = options.strategy === 'legacy';
    // While another live process holds the lease it is syncing the stream: wait for the pushed event first, and
    // when its room key is already stored, show it without taking the lease from that holder (pushed-key.ts).
    // Queued behind a holder, it stops waiting once that holder has committed the key it needs. Whether it syncs
    // after showing is decided at the end.
    const prefetched = engine.leaseHeldByAnotherLiveProcess() ? await fetching : undefined;
    const pushedEvent = prefetched?.ok === true ? prefetched.value : undefined;
    const keyStored = (): boolean => pushedEvent !== undefined && whenStoreReadable(() => pushedEventKeyStored(store, pushedEvent));
    const synced = keyStored()
      ? undefined
      : await syncForPush(
          engine,
          options.leaseWaitMs,
          async () => {
            const fetched = await fetching;
            return fetched.ok && pushedEventNeedsToDevice(store, fetched.value, legacy);
          },
          keyStored,
          readyForLease(fetching, () => opening.whenSettled),
        );
    // Not synced because the key came while it waited: the same as not needing to sync at all.
    const summary = synced?.kind === 'lease-busy' && keyStored() ? undefined : synced;
    const fetched = await fetching;
    // Opened on demand, the state is needed for an encrypted pushed event, and for the upkeep a notifier does
    // without the lease: rows kept encrypted for an unknown sender device, wedged sessions (it publishes no keys:
    // it holds no lease now).
    const needsOlm =
      opening.started ||
      (fetched.ok && fetched.value.type === ENCRYPTED_EVENT_TYPE) ||
      whenStoreReadable(() => olmUpkeepWaitsBesidesKeys(store, systemClock.nowMs()));
    let pickleKey: PickleKey | undefined;
    if (needsOlm) {
      const device = await opening.opened;
      if (!device.ok) {
        report({ kind: 'failed', pid, error: `notifier: ${device.error}` });
        return 1;
      }
      const olm = device.value;
      olm.leaseHolder = () => engine.leaseHolder;
      olm.killPoints = killPoints;
      // Keys from a sender device first seen in this batch decrypt here, before the cursor passes their rows.
      await maintainOlm(olm, client);
      pickleKey = olm.pickleKey;
    }
    const handledPayloads = advanceNotifierCursor(store, options, killPoints);
    killPoints.hit('notifier-before-display');
    const notification = await notificationFor(store, fetched, account, options, handledPayloads, pickleKey);
    whenWriteLockFree(() =>
      recordNotification(store, { eventId: options.eventId, pid, outcome: notification.outcome, sessionId: notification.sessionId, shownAtMs: systemClock.nowMs() }),
    );
    const { title, body, dataMissing } = notification;
    report({ kind: 'notification', pid, eventId: options.eventId, title, body, dataMissing, outcome: notification.outcome });
    // Shown without syncing, it deferred to the holder as one that syncs the stream anyway. That is true of a
    // main process (it long-polls and fetches whatever comes), not of another notifier, which makes its pass and
    // exits: what was queued after that pass's fetch waits for the next process that syncs. So, its push shown,
    // it takes one pass of its own, unless a main process holds the lease by then.
    const turn =
      summary === undefined && !mainHoldsLease(engine)
        ? await syncForPush(engine, options.leaseWaitMs, async () => false, undefined, readyForLease(fetching, () => opening.whenSettled))
        : summary;
    const outcome = turn?.kind ?? KEY_STORED_OUTCOME;
    report({ kind: 'finished', pid, outcome, committedEvents: turn === undefined ? 0 : committedEvents(turn), elapsedMs: systemClock.nowMs() - startedAtMs });
    return 0;
  } finally {
    storeChanges.close();
    store.close();
  }
}

/** Whether a live main process holds the lease (holders are named `process:pid`, sync-engine.ts). */
function mainHoldsLease(engine: Pick<SyncEngine, 'otherLiveLeaseHolder'>): boolean {
  return engine.otherLiveLeaseHolder()?.startsWith(`${MAIN_CONSUMER}:`) === true;
}

/** A read that may meet a busy store: then the answer is no, and the run syncs as it would have anyway. */
function whenStoreReadable(read: () => boolean): boolean {
  try {
    return read();
  } catch (error) {
    if (classifySqliteError(error)?.kind !== 'db-busy') throw error;
    return false;
  }
}

/**
 * A write that may meet another process holding the write lock past the busy timeout (F16): what it would have
 * written stays undone (rows stay in the inbox for the next notifier; a notification is still shown).
 */
function whenWriteLockFree(write: () => void): void {
  try {
    write();
  } catch (error) {
    if (classifySqliteError(error)?.kind !== 'db-busy') throw error;
  }
}

/**
 * Moves the `notifier` cursor over the inbox, storing the room keys among the rows; rows older than the
 * notifier's retention window are passed over first (a notifier shows recent messages only). Returns the
 * payload rows it handled: once both consumers have passed a row, the main process may compact it before this
 * run looks its payload up, so the run keeps what it handled itself.
 */
function advanceNotifierCursor(store: ClientStore, options: NotifierOptions, killPoints: KillPoints): PayloadRow[] {
  const payloads: PayloadRow[] = [];
  whenWriteLockFree(() =>
    consumeInbox({
      store,
      consumer: NOTIFIER_PROCESS,
      strategy: options.strategy,
      processName: NOTIFIER_PROCESS,
      killPoints,
      maxRows: NOTIFIER_MAX_CURSOR_ROWS,
      // The whole bounded pass in one transaction (one fsync) instead of chunks of 64 (sixteen): the pass runs
      // right after the notifier gave the lease back, and the main process, taking it back, waited on the write
      // lock for all of them (in single 20,000-message contention drains on a loaded machine, main's successful
      // takes blocked it 0.7 and 1.2 s in all, 0.34 s with one transaction). A crash redelivers the whole pass:
      // its effects roll back with its cursor (src/store/consume.ts).
      chunkRows: NOTIFIER_MAX_CURSOR_ROWS,
      window: retentionPolicyOf(store).notifierWindow,
      handler: (row, db) => {
        const effect = applyInboxEffects(db, NOTIFIER_PROCESS, row, systemClock.nowMs());
        if (effect.kind === 'bad-room-key') process.stderr.write(`notifier: ignored a malformed room key: ${effect.reason}\n`);
        if (row.type === PAYLOAD_EVENT_TYPE) payloads.push({ type: row.type, content: row.content });
      },
    }),
  );
  return payloads;
}

/** The Olm upkeep a short-lived run does: a store busy past its timeout leaves it to the next process. */
async function maintainOlm(olm: OlmDevice, client: MatrixClient): Promise<void> {
  try {
    if (olm.due) await olm.maintain(client);
  } catch (error) {
    if (classifySqliteError(error)?.kind !== 'db-busy') throw error;
  }
}

async function notificationFor(
  store: ClientStore,
  fetched: Result<RoomEvent, MatrixClientError>,
  account: Account,
  options: NotifierOptions,
  handledPayloads: readonly PayloadRow[],
  /** The device's pickle key; opened for every encrypted pushed event (see runNotifier). */
  pickleKey: PickleKey | undefined,
): Promise<BuiltNotification> {
  if (!fetched.ok) return fetchFailedNotification(options.eventId, fetched.error.kind);
  const event: RoomEvent = fetched.value;
  // A legacy notification process kept its own store: it can only use what it fetched and handled itself.
  const legacy = options.strategy === 'legacy';
  if (event.type === ENCRYPTED_EVENT_TYPE) {
    if (pickleKey === undefined) throw new Error('an encrypted pushed event reached decryption without the Olm state open');
    const decryption = await decrypt(store, account, event, legacy, pickleKey);
    const sessionId = megolmSessionId(event.content);
    const withheld = sessionId === undefined ? undefined : withheldForSession(store, sessionId, legacy ? { storedBy: NOTIFIER_PROCESS } : {});
    return buildNotification(event, { payloads: [], decryption, ...(withheld === undefined ? {} : { withheld }) });
  }
  const tag = event.content[PAYLOAD_TAG_FIELD];
  const payloads = typeof tag === 'string' ? [...handledPayloads, ...findInboxRowsByTag(store, tag, legacy ? { fetchedBy: NOTIFIER_PROCESS } : {})] : [];
  return buildNotification(event, { payloads });
}

/**
 * Whether the pushed event still waits for something that comes by to-device: the room key of an encrypted
 * event (neither stored, nor in the inbox, nor withheld), or the payload a demo event names by tag.
 */
function pushedEventNeedsToDevice(store: ClientStore, event: RoomEvent, legacy: boolean): boolean {
  if (event.type === ENCRYPTED_EVENT_TYPE) {
    const sessionId = megolmSessionId(event.content);
    if (sessionId === undefined) return false;
    return (
      roomKeyForSession(store, sessionId, legacy ? { storedBy: NOTIFIER_PROCESS } : {}) === undefined &&
      roomKeyInInbox(store, sessionId, legacy ? { fetchedBy: NOTIFIER_PROCESS } : {}) === undefined &&
      withheldForSession(store, sessionId, legacy ? { storedBy: NOTIFIER_PROCESS } : {}) === undefined
    );
  }
  const tag = event.content[PAYLOAD_TAG_FIELD];
  return typeof tag === 'string' && findInboxRowsByTag(store, tag, legacy ? { fetchedBy: NOTIFIER_PROCESS } : {}).length === 0;
}

/**
 * Decrypts with the one key the event needs, looked up in the shared store (our own keys only under legacy): a
 * key some consumer stored, or else a key-sharing row committed to the inbox that no pass has handled yet (ours
 * may have met a busy write lock).
 */
async function decrypt(store: ClientStore, account: Account, event: RoomEvent, legacy: boolean, pickleKey: PickleKey): Promise<DecryptOutcome> {
  const sessionId = megolmSessionId(event.content);
  const key =
    sessionId === undefined
      ? undefined
      : (roomKeyForSession(store, sessionId, legacy ? { storedBy: NOTIFIER_PROCESS } : {}) ??
        roomKeyInInbox(store, sessionId, legacy ? { fetchedBy: NOTIFIER_PROCESS } : {}));
  // libolm, already loaded for the device's Olm state: a notifier on matrix-rust-sdk's OlmMachine loaded a second
  // WebAssembly module for one decryption, 18 MB and some 30 ms more per push (src/bench/megolm-startup.ts).
  const decryptor = await createMegolmDecryptor('libolm', account.userId, account.deviceId, { pickleKey });
  try {
    if (key !== undefined) await decryptor.importKeys([key]);
    return await decryptor.decrypt(event);
  } finally {
    decryptor.close();
  }
}

function committedEvents(summary: CatchUpSummary): number {
  return 'events' in summary ? summary.events : 0;
}
