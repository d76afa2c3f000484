/**
 * Giving disk space back: the store runs with `auto_vacuum = INCREMENTAL`, and maintenance returns free pages
 * to the file system a bounded number at a time.
 *
 * Runtime: node. SQLite reuses the pages that deleted rows leave, but never shrinks the file on its own. With
 * `auto_vacuum = INCREMENTAL`, `PRAGMA incremental_vacuum(N)` moves up to N free pages to the end of the file
 * and truncates them (in WAL mode the file shrinks at the next checkpoint).
 * - A new store gets the mode from `openStore` before its first table exists, the only time it can be set
 *   without a VACUUM.
 * - An existing store (created before this mode was used) needs one VACUUM to switch. That cannot run inside
 *   a transaction, and migrations run each in one (src/store/migrate.ts), so it is this separate post-migration
 *   step, which the main process's maintenance runs once its compaction has caught up (so the VACUUM copies
 *   only the rows that stay). It is idempotent: the mode is in the database header, so the step checks it and
 *   does nothing once it is set. It is crash-safe: VACUUM is one transaction (in WAL mode its pages go to the
 *   log and commit together), so a crash leaves the old file, still in mode NONE, and the next run retries. It
 *   never waits: the busy timeout is 0 for its duration, so when another process holds the write lock it gives
 *   up at once (`busy`) and is retried later, rather than stalling the caller for seconds. Readers are not
 *   blocked (WAL). While it runs, writers of other processes wait for it within their busy timeout.
 */
import type { ClientStore } from './open-store';
import { classifySqliteError } from './sqlite-errors';

export type AutoVacuumMode = 'none' | 'full' | 'incremental';

const MODES: Record<number, AutoVacuumMode> = { 0: 'none', 1: 'full', 2: 'incremental' };

export function autoVacuumMode(store: ClientStore): AutoVacuumMode {
  const value = store.db.pragma('auto_vacuum', { simple: true });
  const mode = typeof value === 'number' ? MODES[value] : undefined;
  if (mode === undefined) throw new Error(`PRAGMA auto_vacuum returned ${String(value)}`);
  return mode;
}

export type ConversionResult =
  | { kind: 'already-incremental' }
  | { kind: 'converted'; elapsedMs: number }
  /** Another process holds the write lock; retry later. */
  | { kind: 'busy' }
  /** VACUUM needs room for a copy of the store; nothing changed. */
  | { kind: 'disk-full' };

/** Switches the store to incremental auto-vacuum with one VACUUM, unless it already is. */
export function convertToIncrementalAutoVacuum(store: ClientStore): ConversionResult {
  if (autoVacuumMode(store) === 'incremental') return { kind: 'already-incremental' };
  if (store.db.inTransaction) throw new Error('VACUUM cannot run inside a transaction');
  const busyTimeoutMs = store.db.pragma('busy_timeout', { simple: true }) as number;
  const startedMs = performance.now();
  store.db.pragma('busy_timeout = 0');
  try {
    store.db.pragma('auto_vacuum = INCREMENTAL');
    store.db.exec('VACUUM');
  } catch (error) {
    const kind = classifySqliteError(error)?.kind;
    if (kind === 'db-busy') return { kind: 'busy' };
    if (kind === 'db-full') return { kind: 'disk-full' };
    throw error;
  } finally {
    store.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
  // VACUUM wrote every page to the WAL; copy them back now rather than inside somebody's next commit.
  store.db.pragma('wal_checkpoint(PASSIVE)');
  return { kind: 'converted', elapsedMs: Math.round(performance.now() - startedMs) };
}

export function freePageCount(store: ClientStore): number {
  return store.db.pragma('freelist_count', { simple: true }) as number;
}

/**
 * Returns up to `maxPages` free pages to the file system when at least `minFreePages` are free (a few free pages
 * are worth keeping: the next inserts reuse them). Returns how many pages it freed; 0 in any other mode.
 */
export function incrementalVacuumStep(store: ClientStore, options: { maxPages: number; minFreePages: number }): number {
  if (autoVacuumMode(store) !== 'incremental') return 0;
  const before = freePageCount(store);
  if (before < options.minFreePages) return 0;
  store.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(options.maxPages))})`);
  return before - freePageCount(store);
}
