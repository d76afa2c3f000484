/**
 * What notifier runs showed (migration 0003): one row per (pushed event, notifier PID).
 *
 * Runtime: node. The notifier writes its row just before it displays the notification; a notifier killed before
 * that shows nothing and records nothing, which is what the user saw. `unable-to-decrypt` is the harm a lost room
 * key does to a notification; `data-missing` is the same for the unencrypted demo payload.
 */
import type { NotificationOutcome } from '../shared/notifier-messages';
import type { ClientStore } from './open-store';
import { countersOf } from './store-counters';

export function recordNotification(
  store: ClientStore,
  entry: { eventId: string; pid: number; outcome: NotificationOutcome; sessionId: string | null; shownAtMs: number },
): void {
  store
    .statement(
      `INSERT INTO notifications (event_id, pid, outcome, session_id, shown_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (event_id, pid) DO UPDATE SET outcome = excluded.outcome, shown_at_ms = excluded.shown_at_ms`,
    )
    .run(entry.eventId, entry.pid, entry.outcome, entry.sessionId, entry.shownAtMs);
}

/** Notifications shown, by outcome: those still logged plus those retention pruned (src/store/log-retention.ts). */
export function countNotifications(store: ClientStore): Record<NotificationOutcome, number> {
  const counts: Record<NotificationOutcome, number> = { plain: 0, decrypted: 0, 'unable-to-decrypt': 0, 'data-missing': 0, 'fetch-failed': 0 };
  const pruned = countersOf(store, 'notifications');
  for (const outcome of Object.keys(counts) as NotificationOutcome[]) counts[outcome] = pruned.get(outcome) ?? 0;
  const rows = store.statement('SELECT outcome, count(*) AS n FROM notifications GROUP BY outcome').all() as Array<{ outcome: NotificationOutcome; n: number }>;
  for (const row of rows) counts[row.outcome] += row.n;
  return counts;
}
