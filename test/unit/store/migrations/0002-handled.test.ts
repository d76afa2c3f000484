// Migration 0002 (`handled`): a version-1 database with data in it upgrades in place, keeping every row.
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migration0001 } from '../../../../src/store/migrations/0001-initial';
import { LATEST_SCHEMA_VERSION } from '../../../../src/store/migrations/registry';
import { openStore } from '../../../../src/store/open-store';
import { recordHandled, summarizeHandled } from '../../../../src/store/handled';
import { listInbox } from '../../../../src/store/inbox';
import { tempDir } from '../temp-store';

describe('migration 0002-handled', () => {
  it('migration 0002: a version-1 store with inbox rows upgrades and keeps them', () => {
    const file = path.join(tempDir(), 'v1.sqlite');
    const v1 = new Database(file);
    v1.exec(migration0001.sql);
    v1.pragma('user_version = 1');
    v1.prepare(
      `INSERT INTO inbox (type, sender, content, received_at_ms, fetched_by_process, fetched_by_pid, batch_since, batch_next_batch)
       VALUES ('m.test', '@a:x', '{"tag":"t1"}', 1, 'main', 1, NULL, '1_x')`,
    ).run();
    v1.close();

    const store = openStore(file);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
      const [row] = listInbox(store);
      expect(row?.content).toEqual({ tag: 't1' });
      if (row) recordHandled(store.db, 'main', row, 5);
      expect(summarizeHandled(store, 'main')).toEqual({ rows: 1, distinctTags: 1, duplicates: 0 });
    } finally {
      store.close();
    }
  });

  it('migration 0002: a consumer cannot record the same row twice', () => {
    const store = openStore(path.join(tempDir(), 'twice.sqlite'));
    try {
      const row = { seq: 1, type: 't', sender: 's', content: { tag: 'x' }, receivedAtMs: 0, fetchedByProcess: 'main', fetchedByPid: 1, batchSince: null, batchNextBatch: 'n' };
      recordHandled(store.db, 'main', row, 1);
      expect(() => recordHandled(store.db, 'main', row, 2)).toThrow(/UNIQUE|PRIMARY KEY/);
    } finally {
      store.close();
    }
  });
});
