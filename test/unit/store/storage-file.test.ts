// The store's file on disk: incremental auto-vacuum on new and migrated stores, the file shrinking after deletes
// and vacuum steps, and the WAL file staying bounded under continuous commits.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { autoVacuumMode, convertToIncrementalAutoVacuum, freePageCount } from '../../../src/store/auto-vacuum';
import { commitBatch } from '../../../src/store/commit-batch';
import { MAIN_CONSUMER, NOTIFIER_CONSUMER, advanceCursor, registerConsumer } from '../../../src/store/cursors';
import { inboxStats, listInbox } from '../../../src/store/inbox';
import { compactInbox } from '../../../src/store/inbox-compaction';
import { DEFAULT_COMPACT_INTERVAL_MS, StoreMaintenance } from '../../../src/store/maintenance';
import { tableBytes } from '../../../src/store/table-bytes';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../../src/store/migrations/registry';
import { openStore, WAL_SIZE_LIMIT_BYTES, type ClientStore } from '../../../src/store/open-store';
import { retentionPolicyOf } from '../../../src/store/retention-policy';
import { readToken } from '../../../src/store/token';
import { checkpointPassive } from '../../../src/store/wal-checkpoint';
import { tempDir, tempStore } from './temp-store';

const fileSize = (file: string): number => (fs.existsSync(file) ? fs.statSync(file).size : 0);

/** Commits `batches` batches of `perBatch` events of about 400 bytes each, as the sync engine does. */
function commitBatches(store: ClientStore, batches: number, perBatch: number, afterEach?: (i: number) => void): void {
  for (let i = 0; i < batches; i += 1) {
    const events = Array.from({ length: perBatch }, (_, n) => ({ type: 'm.test', sender: '@a:x', content: { tag: `b${i}-${n}`, pad: 'x'.repeat(360) } }));
    const result = commitBatch(store, { expectedSince: readToken(store).since, nextBatch: `nb${i}`, events, process: 'main', pid: 1, nowMs: i });
    if (result.kind !== 'committed') throw new Error(`commit ${i}: ${result.kind}`);
    afterEach?.(i);
  }
}

/** A store as todevice wrote it before retention: the migrations before `retention`, auto_vacuum NONE, some rows. */
function storeBeforeRetention(file: string, rows: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const retention = MIGRATIONS.find((m) => m.name === 'retention');
  if (retention === undefined) throw new Error('no retention migration');
  for (const migration of MIGRATIONS.filter((m) => m.version < retention.version)) {
    db.exec(migration.sql);
    db.pragma(`user_version = ${migration.version}`);
  }
  const insert = db.prepare(
    `INSERT INTO inbox (type, sender, content, received_at_ms, fetched_by_process, fetched_by_pid, batch_since, batch_next_batch)
     VALUES ('m.test', '@a:x', ?, 0, 'main', 1, NULL, 'n')`,
  );
  db.transaction(() => {
    for (let n = 0; n < rows; n += 1) insert.run(JSON.stringify({ tag: `old${n}`, pad: 'y'.repeat(300) }));
  })();
  db.close();
}

describe('auto-vacuum', () => {
  it('auto-vacuum: a new store is created with auto_vacuum INCREMENTAL', () => {
    const store = tempStore();
    expect(autoVacuumMode(store)).toBe('incremental');
  });

  it('auto-vacuum: a store from before retention migrates, and maintenance switches it to INCREMENTAL keeping every row', () => {
    const file = path.join(tempDir(), 'old.sqlite');
    storeBeforeRetention(file, 500);
    const store = openStore(file);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
      expect(autoVacuumMode(store)).toBe('none');
      // Main has not handled anything: the conversion waits for compaction to catch up, which it has (nothing
      // is deletable), and must keep every row.
      const report = new StoreMaintenance({ store, clock: { nowMs: () => 1 } }).runAll();
      expect(report.autoVacuum?.kind).toBe('converted');
      expect(autoVacuumMode(store)).toBe('incremental');
      expect(inboxStats(store).count).toBe(500);
      expect(listInbox(store, { limit: 1 })[0]?.content.tag).toBe('old0');
      // Idempotent: the next run finds the mode set and does nothing.
      expect(convertToIncrementalAutoVacuum(store)).toEqual({ kind: 'already-incremental' });
    } finally {
      store.close();
    }
  });

  it('auto-vacuum: the conversion gives up at once while another process holds the write lock, and changes nothing', () => {
    const file = path.join(tempDir(), 'locked.sqlite');
    storeBeforeRetention(file, 10);
    const store = openStore(file);
    const holder = new Database(file);
    try {
      holder.exec('BEGIN IMMEDIATE');
      const startedMs = Date.now();
      expect(convertToIncrementalAutoVacuum(store)).toEqual({ kind: 'busy' });
      expect(Date.now() - startedMs).toBeLessThan(2000);
      holder.exec('ROLLBACK');
      expect(autoVacuumMode(store)).toBe('none');
      expect(inboxStats(store).count).toBe(10);
      expect(store.db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5000);
    } finally {
      holder.close();
      store.close();
    }
  });

  it('auto-vacuum: after the inbox is compacted, vacuum steps give the space back and the file shrinks', () => {
    const store = tempStore();
    commitBatches(store, 100, 100);
    checkpointPassive(store);
    const fullBytes = fileSize(store.path);
    expect(fullBytes).toBeGreaterThan(4 * 1024 * 1024);
    for (const consumer of [MAIN_CONSUMER, NOTIFIER_CONSUMER]) {
      registerConsumer(store, consumer);
      advanceCursor(store, consumer, inboxStats(store).lastSeq, 1);
    }
    const maintenance = new StoreMaintenance({ store, clock: { nowMs: () => 1 }, vacuumPagesPerStep: 256 });
    let steps = 0;
    for (; steps < 100; steps += 1) {
      const report = maintenance.runAll();
      if (report.inboxDeleted === 0 && report.vacuumPagesFreed === 0) break;
    }
    expect(steps).toBeGreaterThan(1);
    expect(inboxStats(store).count).toBe(200);
    checkpointPassive(store);
    expect(freePageCount(store)).toBeLessThan(256);
    expect(fileSize(store.path)).toBeLessThan(fullBytes / 4);
  });
});

describe('free pages at the compaction cadence', () => {
  it('vacuum: free pages that compaction leaves are given back within one compaction interval, not only every 30 s', () => {
    const store = tempStore();
    let nowMs = 1000;
    const maintenance = new StoreMaintenance({ store, clock: { nowMs: () => nowMs } });
    // The first step runs every task, the slow ones too; the next slow step is 30 s away.
    expect(maintenance.step()).toBeDefined();
    commitBatches(store, 40, 100);
    registerConsumer(store, MAIN_CONSUMER);
    for (const consumer of [MAIN_CONSUMER, NOTIFIER_CONSUMER]) advanceCursor(store, consumer, inboxStats(store).lastSeq, 1);
    // What compaction's batches delete over a second of a drain, done at once.
    expect(compactInbox(store, { limit: retentionPolicyOf(store).inbox, nowMs, maxRows: 10_000 }).deleted).toBe(4000 - 200);
    checkpointPassive(store);
    const freeBefore = freePageCount(store);
    const bytesBefore = fileSize(store.path);
    expect(freeBefore).toBeGreaterThan(256);
    nowMs = 1000 + DEFAULT_COMPACT_INTERVAL_MS;
    const report = maintenance.step();
    expect(report?.vacuumPagesFreed).toBeGreaterThan(0);
    checkpointPassive(store);
    expect(freePageCount(store)).toBeLessThan(freeBefore);
    expect(fileSize(store.path)).toBeLessThan(bytesBefore);
  });
});

describe('bytes per table', () => {
  it('table bytes: every page of the file is a table, an index or a free page, and the inbox holds most of a store of messages', () => {
    const store = tempStore();
    commitBatches(store, 20, 100);
    checkpointPassive(store);
    const bytes = tableBytes(store);
    const pageBytes = store.db.pragma('page_size', { simple: true }) as number;
    const total = Object.values(bytes).reduce((sum, n) => sum + n, 0) + freePageCount(store) * pageBytes;
    // What is left are auto-vacuum's pointer-map pages: one per page_size / 5 pages of the file.
    const pageCount = store.db.pragma('page_count', { simple: true }) as number;
    const pointerMapBytes = fileSize(store.path) - total;
    expect(pointerMapBytes % pageBytes).toBe(0);
    expect(pointerMapBytes / pageBytes).toBeGreaterThanOrEqual(1);
    expect(pointerMapBytes / pageBytes).toBeLessThanOrEqual(Math.ceil(pageCount / Math.floor(pageBytes / 5)));
    expect(Object.keys(bytes)[0]).toBe('inbox');
    expect(bytes.inbox).toBeGreaterThan(2000 * 360);
    // An index counts with its table.
    expect(Object.keys(bytes)).not.toContain('sqlite_autoindex_handled_1');
    expect(Object.keys(bytes)).toContain('handled');
  });
});

describe('the WAL', () => {
  it('wal: stays bounded under continuous commits, and shrinks back after a long reader held checkpoints back', () => {
    const store = tempStore({ synchronous: 'NORMAL' });
    const walFile = `${store.path}-wal`;
    // A reader that keeps one snapshot open (a slow `todevice inbox`, a suspended dashboard read) for 400 commits.
    const reader = new Database(store.path, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM inbox').get();
    commitBatches(store, 400, 100);
    const grownBytes = fileSize(walFile);
    expect(grownBytes).toBeGreaterThan(3 * WAL_SIZE_LIMIT_BYTES);
    reader.exec('COMMIT');
    reader.close();
    // Then commits go on as the engine makes them, with a PASSIVE checkpoint every few commits.
    let largestBytes = 0;
    commitBatches(store, 600, 100, (i) => {
      if (i % 8 === 7) checkpointPassive(store);
      if (i >= 100) largestBytes = Math.max(largestBytes, fileSize(walFile));
    });
    expect(largestBytes).toBeLessThanOrEqual(2 * WAL_SIZE_LIMIT_BYTES);
    expect(fileSize(walFile)).toBeLessThanOrEqual(2 * WAL_SIZE_LIMIT_BYTES);
  });
});
