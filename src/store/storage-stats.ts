/**
 * How big the store is and what compaction and retention removed: the figures `todevice inbox` and the
 * dashboard's Storage panel show.
 *
 * Runtime: node. Read-only. File sizes come from the file system (the database file and its `-wal`); row counts
 * are `count(*)` per table, each one index walk, so this costs milliseconds, not a read of the rows.
 */
import fs from 'node:fs';
import { autoVacuumMode, freePageCount, type AutoVacuumMode } from './auto-vacuum';
import { countersOf } from './store-counters';
import { cursorScope, INBOX_SCOPE, MAINTENANCE_SCOPE } from './inbox-compaction';
import { NOTIFIER_CONSUMER } from './cursors';
import type { ClientStore } from './open-store';
import { retentionPolicyOf, type RetentionPolicy } from './retention-policy';

export interface StorageStats {
  /** The database file and its write-ahead log, in bytes (0 for an in-memory store). */
  fileBytes: number;
  walBytes: number;
  pageSizeBytes: number;
  /** Pages inside the file that hold nothing; incremental vacuum returns them. */
  freePages: number;
  autoVacuum: AutoVacuumMode;
  rows: { inbox: number; handled: number; eventLog: number; notifications: number; timeline: number; roomKeys: number };
  /** Cumulative, over the store's life. */
  removed: {
    inboxRows: number;
    notifierRowsSkipped: number;
    handledRows: number;
    eventLogRows: number;
    notifications: number;
    timelineRows: number;
    vacuumPagesFreed: number;
  };
  lastCompactionAtMs: number | null;
  lastVacuumAtMs: number | null;
  retention: RetentionPolicy;
}

const TABLES = { inbox: 'inbox', handled: 'handled', eventLog: 'event_log', notifications: 'notifications', timeline: 'timeline', roomKeys: 'room_keys' } as const;

export function readStorageStats(store: ClientStore): StorageStats {
  const counters = (scope: string): Map<string, number> => countersOf(store, scope);
  const maintenance = counters(MAINTENANCE_SCOPE);
  const handledDeleted = (store.statement("SELECT coalesce(sum(value), 0) AS n FROM store_counters WHERE scope LIKE 'handled:%' AND name = 'deleted'").get() as { n: number }).n;
  const rows = Object.fromEntries(
    Object.entries(TABLES).map(([key, table]) => [key, (store.statement(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n]),
  ) as StorageStats['rows'];
  return {
    fileBytes: fileSize(store.path),
    walBytes: fileSize(`${store.path}-wal`),
    pageSizeBytes: store.db.pragma('page_size', { simple: true }) as number,
    freePages: freePageCount(store),
    autoVacuum: autoVacuumMode(store),
    rows,
    removed: {
      inboxRows: counters(INBOX_SCOPE).get('deleted') ?? 0,
      notifierRowsSkipped: counters(cursorScope(NOTIFIER_CONSUMER)).get('window_skipped') ?? 0,
      handledRows: handledDeleted,
      eventLogRows: counters('event_log').get('deleted') ?? 0,
      notifications: counters('notifications').get('deleted') ?? 0,
      timelineRows: counters('timeline').get('deleted') ?? 0,
      vacuumPagesFreed: counters('vacuum').get('pages_freed') ?? 0,
    },
    lastCompactionAtMs: maintenance.get('last_compaction_at_ms') ?? null,
    lastVacuumAtMs: maintenance.get('last_vacuum_at_ms') ?? null,
    retention: retentionPolicyOf(store),
  };
}

function fileSize(path: string): number {
  if (path === ':memory:' || path === '') return 0;
  try {
    return fs.statSync(path).size;
  } catch {
    return 0;
  }
}
