/**
 * A bounded log of what each client process did, for the dashboard's process lanes.
 *
 * Runtime: node. Each append trims the log to the newest `maxRows` rows in the same transaction, so the table
 * stays bounded however long the processes run. The log is diagnostic only: nothing reads it to decide anything.
 */
import type { ClientStore } from './open-store';

export const DEFAULT_EVENT_LOG_MAX_ROWS = 5000;

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
  maxRows: number = DEFAULT_EVENT_LOG_MAX_ROWS,
): number {
  return store.db
    .transaction(() => {
      const info = store
        .statement('INSERT INTO event_log (at_ms, process, pid, kind, detail) VALUES (?, ?, ?, ?, ?)')
        .run(event.atMs, event.process, event.pid, event.kind, JSON.stringify(event.detail));
      const id = Number(info.lastInsertRowid);
      store.statement('DELETE FROM event_log WHERE id <= ?').run(id - maxRows);
      return id;
    })
    .immediate();
}

/** Events with `id > afterId`, oldest first (a dashboard polls with the last id it saw). */
export function listProcessEvents(store: ClientStore, options: { afterId?: number; limit?: number } = {}): ProcessEvent[] {
  const rows = store
    .statement('SELECT id, at_ms, process, pid, kind, detail FROM event_log WHERE id > ? ORDER BY id LIMIT ?')
    .all(options.afterId ?? 0, options.limit ?? 500) as Array<{
    id: number;
    at_ms: number;
    process: string;
    pid: number;
    kind: string;
    detail: string;
  }>;
  return rows.map((row) => ({
    id: row.id,
    atMs: row.at_ms,
    process: row.process,
    pid: row.pid,
    kind: row.kind,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  }));
}
