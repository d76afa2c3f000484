/**
 * The oracle for what lost room keys cost: for every encrypted room message the homeserver accepted, was it
 * paged into the main process's timeline, decrypted, decrypted late (its key came more than the grace period,
 * `LATE_DECRYPTION_GRACE_MS`, after the message was paged: a delay the user saw, src/store/timeline.ts), or is it
 * still undecryptable; and how many notifications were shown decrypted or as "unable to decrypt".
 *
 * Runtime: node. Read-only on the shared store, after the liveness phase converged (every key that was ever
 * committed has reached the `main` consumer by then). The main process pages the timeline on its own timer,
 * so `waitForTimeline` gives it a bounded time to page every sent event before the figures are taken; an event
 * still absent after that is reported as `notPaged` rather than guessed about.
 */
import type { ClientStore } from '../store/open-store';
import { countNotifications } from '../store/notification-log';
import { timelineEntriesFor } from '../store/timeline';
import type { EncryptionFigures } from './report-types';
import type { SentRoomEvent } from './traffic';

const pollMs = 200;

/** Waits until every sent room event is in the timeline and decrypted, or `boundMs` passed. */
export async function waitForTimeline(store: ClientStore, sent: readonly SentRoomEvent[], boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs;
  const ids = sent.map((event) => event.eventId);
  while (Date.now() < deadline) {
    const entries = timelineEntriesFor(store, ids);
    if (ids.every((id) => entries.get(id)?.decryptedAtMs != null)) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export function judgeEncryption(store: ClientStore, sent: readonly SentRoomEvent[]): EncryptionFigures {
  const entries = timelineEntriesFor(store, sent.map((event) => event.eventId));
  let paged = 0;
  let decrypted = 0;
  let late = 0;
  const undecryptableSessions: string[] = [];
  for (const event of sent) {
    const entry = entries.get(event.eventId);
    if (entry === undefined) continue;
    paged += 1;
    if (entry.decryptedAtMs === null) undecryptableSessions.push(event.sessionId);
    else decrypted += 1;
    if (entry.late) late += 1;
  }
  const notifications = countNotifications(store);
  return {
    roomMessages: sent.length,
    notifications: {
      shown: Object.values(notifications).reduce((sum, n) => sum + n, 0),
      decrypted: notifications.decrypted,
      unableToDecrypt: notifications['unable-to-decrypt'],
    },
    timeline: { paged, decrypted, late, unableToDecrypt: paged - decrypted, notPaged: sent.length - paged },
    undecryptableSample: undecryptableSessions.slice(0, 10),
  };
}
