/**
 * A bounded log of what each client process did, for the dashboard's process lanes.
 *
 * Runtime: node. Each append trims the log to the newest `maxRows` rows in the same transaction (by default the
 * `eventLog` row limit of the store's retention policy), so the table stays bounded however long the processes
 * run, even a store whose main process never runs maintenance; maintenance applies the age limit
 * (src/store/log-retention.ts). The log is diagnostic only: nothing reads it to decide anything.
 */
import type { ClientStore } from './open-store';
import { retentionPolicyOf } from './retention-policy';

/** The row bound the retention policy sets, or none (`Infinity`) when it keeps every row. */
function policyMaxRows(store: ClientStore): number {
  return retentionPolicyOf(store).eventLog.maxRows ?? Number.POSITIVE_INFINITY;
}

export interface ProcessEvent {
  id: number;
  atMs: number;
  process: string;
  pid: number;
  kind: string;
  detail: Record<string, unknown>;
}

export function appendProcessEvent(
  store: ClientStore,
  event: Omit<ProcessEvent, 'id'>,
  maxRows: number = policyMaxRows(store),
): number {
  return store.immediate(() => {
    const info = store
      .statement('INSERT INTO event_log (at_ms, process, pid, kind, detail) VALUES (?, ?, ?, ?, ?)')
      .run(event.atMs, event.process, event.pid, event.kind, JSON.stringify(event.detail));
    const id = Number(info.lastInsertRowid);
    if (Number.isFinite(maxRows)) store.statement('DELETE FROM event_log WHERE id <= ?').run(id - maxRows);
    return id;
  });
}

/**
 * Appends several events in one transaction (one fsync at FULL instead of one each), in order, trimming once.
 * The sync engine batches its per-request events through this (see `SyncEngine.emit`).
 */
export function appendProcessEvents(
  store: ClientStore,
  events: ReadonlyArray<Omit<ProcessEvent, 'id'>>,
  maxRows: number = policyMaxRows(store),
): void {
  if (events.length === 0) return;
  store.immediate(() => {
    const insert = store.statement('INSERT INTO event_log (at_ms, process, pid, kind, detail) VALUES (?, ?, ?, ?, ?)');
    let id = 0;
    for (const event of events) {
      id = Number(insert.run(event.atMs, event.process, event.pid, event.kind, JSON.stringify(event.detail)).lastInsertRowid);
    }
    if (Number.isFinite(maxRows)) store.statement('DELETE FROM event_log WHERE id <= ?').run(id - maxRows);
  });
}

/** Events with `id > afterId`, oldest first (a dashboard polls with the last id it saw). */
export function listProcessEvents(store: ClientStore, options: { afterId?: number; limit?: number } = {}): ProcessEvent[] {
  const rows = store
    .statement('SELECT id, at_ms, process, pid, kind, detail FROM event_log WHERE id > ? ORDER BY id LIMIT ?')
    .all(options.afterId ?? 0, options.limit ?? 500) as EventLogRow[];
  return rows.map(toProcessEvent);
}

interface EventLogRow {
  id: number;
  at_ms: number;
  process: string;
  pid: number;
  kind: string;
  detail: string;
}

function toProcessEvent(row: EventLogRow): ProcessEvent {
  return { id: row.id, atMs: row.at_ms, process: row.process, pid: row.pid, kind: row.kind, detail: JSON.parse(row.detail) as Record<string, unknown> };
}

/** Per-process counts of each event kind still in the log, for the dashboard's lanes. */
export function countEventsByPid(store: ClientStore): Map<number, Map<string, number>> {
  const rows = store.statement('SELECT pid, kind, count(*) AS n FROM event_log GROUP BY pid, kind').all() as Array<{
    pid: number;
    kind: string;
    n: number;
  }>;
  const counts = new Map<number, Map<string, number>>();
  for (const row of rows) {
    const byKind = counts.get(row.pid) ?? new Map<string, number>();
    byKind.set(row.kind, row.n);
    counts.set(row.pid, byKind);
  }
  return counts;
}

/** The newest `limit` events of one process, newest first. */
export function latestEventsOf(store: ClientStore, pid: number, limit: number): ProcessEvent[] {
  const rows = store
    .statement('SELECT id, at_ms, process, pid, kind, detail FROM event_log WHERE pid = ? ORDER BY id DESC LIMIT ?')
    .all(pid, limit) as EventLogRow[];
  return rows.map(toProcessEvent);
}

/** The newest `limit` events of one kind (e.g. `commit`), newest first. */
export function latestEventsOfKind(store: ClientStore, kind: string, limit: number): ProcessEvent[] {
  const rows = store
    .statement('SELECT id, at_ms, process, pid, kind, detail FROM event_log WHERE kind = ? ORDER BY id DESC LIMIT ?')
    .all(kind, limit) as EventLogRow[];
  return rows.map(toProcessEvent);
}
