/**
 * One notifier run, start to exit: what a phone's notification extension does for one push.
 *
 * Runtime: node / electron-utility (no Electron import). Steps, each bounded:
 *  1. open the shared store and read the account the main process saved;
 *  2. sync to-device until caught up, under the lease, which it gets within `leaseWaitMs` because a main
 *     process in a long poll yields it when asked through the database (DESIGN.md §4.4);
 *  3. fetch the pushed event and build the notification from the to-device data it needs;
 *  4. advance the `notifier` cursor over what it handled (effect and cursor in one transaction);
 *  5. report and exit.
 * A SIGKILL anywhere loses nothing: every to-device event it fetched was committed with the token before it was
 * acknowledged, so the main process (or the next notifier) handles it from the inbox.
 */
import path from 'node:path';
import { consumeInbox } from '../engine/consumer';
import { createProcessEngine } from '../engine/create-engine';
import type { CatchUpSummary } from '../engine/engine-types';
import type { KillPoints } from '../engine/kill-points';
import type { MatrixClient } from '../engine/matrix-client';
import { systemClock } from '../shared/clock';
import { CLIENT_DB_FILE } from '../shared/data-layout';
import { PAYLOAD_TAG_FIELD } from '../shared/demo-protocol';
import type { NotifierMessage } from '../shared/notifier-messages';
import type { RoomEvent } from '../shared/wire';
import { readAccount } from '../store/account';
import { recordHandled } from '../store/handled';
import { findInboxRowsByTag } from '../store/inbox';
import { openStore, type ClientStore } from '../store/open-store';
import { classifySqliteError } from '../store/sqlite-errors';
import { buildNotification, type BuiltNotification } from './notification-text';
import type { NotifierOptions } from './notifier-options';

export const NOTIFIER_PROCESS = 'notifier';

/** Runs the notifier and returns its exit code (0 also when the data was missing: that is a shown result). */
export async function runNotifier(options: NotifierOptions, report: (message: NotifierMessage) => void): Promise<number> {
  const startedAtMs = systemClock.nowMs();
  const pid = process.pid;
  const store = openStore(path.join(options.dataDir, CLIENT_DB_FILE));
  try {
    const account = readAccount(store);
    if (account === undefined) {
      report({ kind: 'failed', pid, error: `no account in ${options.dataDir}: start the main process first` });
      return 1;
    }
    report({ kind: 'started', pid, eventId: options.eventId, roomId: options.roomId });
    const { engine, client, killPoints } = createProcessEngine({ store, account, processName: NOTIFIER_PROCESS, strategy: options.strategy });
    const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: options.leaseWaitMs });
    const notification = await notificationFor(store, client, options);
    advanceNotifierCursor(store, options, killPoints);
    report({ kind: 'notification', pid, eventId: options.eventId, ...notification });
    report({ kind: 'finished', pid, outcome: summary.kind, committedEvents: committedEvents(summary), elapsedMs: systemClock.nowMs() - startedAtMs });
    return 0;
  } finally {
    store.close();
  }
}

/**
 * Moves the `notifier` cursor over what it handled. When another process holds the write lock past the busy
 * timeout (F16), the rows stay where they are for the next notifier; a notification already built is still shown.
 */
function advanceNotifierCursor(store: ClientStore, options: NotifierOptions, killPoints: KillPoints): void {
  try {
    consumeInbox({
      store,
      consumer: NOTIFIER_PROCESS,
      strategy: options.strategy,
      processName: NOTIFIER_PROCESS,
      killPoints,
      maxRows: 10_000,
      handler: (row, db) => recordHandled(db, NOTIFIER_PROCESS, row, systemClock.nowMs()),
    });
  } catch (error) {
    if (classifySqliteError(error)?.kind !== 'db-busy') throw error;
  }
}

async function notificationFor(store: ClientStore, client: MatrixClient, options: NotifierOptions): Promise<BuiltNotification> {
  const fetched = await client.getEvent(options.roomId, options.eventId);
  if (!fetched.ok) {
    return { title: 'New message', body: `The pushed event ${options.eventId} could not be fetched (${fetched.error.kind}).`, dataMissing: true };
  }
  const event: RoomEvent = fetched.value;
  const tag = event.content[PAYLOAD_TAG_FIELD];
  // A legacy notification process kept its own store: it can only use what it fetched itself.
  const fetchedBy = options.strategy === 'legacy' ? NOTIFIER_PROCESS : undefined;
  const payloads = typeof tag === 'string' ? findInboxRowsByTag(store, tag, fetchedBy === undefined ? {} : { fetchedBy }) : [];
  return buildNotification(event, payloads);
}

function committedEvents(summary: CatchUpSummary): number {
  return 'events' in summary ? summary.events : 0;
}
