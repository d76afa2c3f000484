/**
 * What notifier runs showed (migration 0003): one row per (pushed event, notifier PID).
 *
 * Runtime: node. The notifier writes its row just before it displays the notification; a notifier killed before
 * that shows nothing and records nothing, which is what the user saw. `unable-to-decrypt` is the harm a lost room
 * key does to a notification; `data-missing` is the same for the unencrypted demo payload.
 */
import type { NotificationOutcome } from '../shared/notifier-messages';
import type { ClientStore } from './open-store';
import { includesPrunedHistory, sqlBounds, type TimeWindow } from './time-window';
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

/**
 * Notifications shown (inside `window`, by `shown_at_ms`), by outcome: those still logged, plus those retention
 * pruned when the window reaches back to the beginning (src/store/log-retention.ts, time-window.ts).
 */
export function countNotifications(store: ClientStore, window: TimeWindow = {}): Record<NotificationOutcome, number> {
  const counts: Record<NotificationOutcome, number> = { plain: 0, decrypted: 0, 'unable-to-decrypt': 0, withheld: 0, 'data-missing': 0, 'fetch-failed': 0 };
  if (includesPrunedHistory(window)) {
    const pruned = countersOf(store, 'notifications');
    for (const outcome of Object.keys(counts) as NotificationOutcome[]) counts[outcome] = pruned.get(outcome) ?? 0;
  }
  const rows = store
    .statement('SELECT outcome, count(*) AS n FROM notifications WHERE shown_at_ms >= @fromMs AND shown_at_ms < @beforeMs GROUP BY outcome')
    .all(sqlBounds(window)) as Array<{ outcome: NotificationOutcome; n: number }>;
  for (const row of rows) counts[row.outcome] += row.n;
  return counts;
}

export interface NotificationLogRow {
  eventId: string;
  pid: number;
  outcome: NotificationOutcome;
  shownAtMs: number;
}

/** The newest `limit` notifications shown inside `window`, newest first. */
export function recentNotifications(store: ClientStore, limit: number, window: TimeWindow = {}): NotificationLogRow[] {
  const rows = store
    .statement(
      `SELECT event_id, pid, outcome, shown_at_ms FROM notifications WHERE shown_at_ms >= @fromMs AND shown_at_ms < @beforeMs
       ORDER BY shown_at_ms DESC, pid DESC LIMIT @limit`,
    )
    .all({ ...sqlBounds(window), limit }) as Array<{ event_id: string; pid: number; outcome: NotificationOutcome; shown_at_ms: number }>;
  return rows.map((row) => ({ eventId: row.event_id, pid: row.pid, outcome: row.outcome, shownAtMs: row.shown_at_ms }));
}
