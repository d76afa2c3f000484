/**
 * Whether a notifier run may show its push without syncing to-device first: the pushed event is encrypted and
 * the one room key it needs is already in the shared store (stored by a consumer, or in a committed key-sharing
 * row no consumer has handled yet).
 *
 * Runtime: node / electron-utility. A notifier syncs to-device for one reason of its own: the key of the event
 * it was woken for may still be queued on the server. When that key is already here, its sync only moves the
 * device's stream forward, which a main process holding the lease does anyway; under `explicit-lease` the sync
 * also made that holder abort its long poll, give the lease up, wait and take it back, for every push. (Another
 * notifier holding the lease makes one pass and exits, so the caller, its push shown, still takes a pass of its
 * own then: notifier-run.ts.) Skipping it is safe: a notifier that does not sync fetches, acknowledges and
 * commits nothing, so it can lose nothing either, and the messages it did not fetch stay queued on the server.
 * Legacy stores are per process (the notifier may use only what it fetched itself), so the answer there is
 * always no: the caller asks only under a strategy with a lease.
 */
import type { RoomEvent } from '../shared/wire';
import { ENCRYPTED_EVENT_TYPE, megolmSessionId } from '../shared/room-key-protocol';
import type { ClientStore } from '../store/open-store';
import { roomKeyForSession, roomKeyInInbox } from '../store/room-keys';

export function pushedEventKeyStored(store: ClientStore, event: RoomEvent): boolean {
  if (event.type !== ENCRYPTED_EVENT_TYPE) return false;
  const sessionId = megolmSessionId(event.content);
  if (sessionId === undefined) return false;
  return roomKeyForSession(store, sessionId) !== undefined || roomKeyInInbox(store, sessionId) !== undefined;
}
