// Migration `handled-stored-at`: a store from before it upgrades in place; its handled rows keep everything and
// have no stored time, and every row handled after the upgrade records when its inbox row was stored.
import { describe, expect, it } from 'vitest';
import { recordHandled } from '../../../../src/store/handled';
import { LATEST_SCHEMA_VERSION } from '../../../../src/store/migrations/registry';
import { openStore } from '../../../../src/store/open-store';
import { databaseBefore } from './database-before';

describe('migration handled-stored-at', () => {
  it('migration handled-stored-at: old handled rows stay with no stored time; a new one records its inbox row\'s', () => {
    const { file, db } = databaseBefore('handled-stored-at');
    db.prepare("INSERT INTO handled (consumer, seq, type, tag, sent_at_ms, handled_at_ms) VALUES ('main', 1, 'm.test', 't1', 100, 300)").run();
    db.close();

    const store = openStore(file);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
      const row = { seq: 2, type: 'm.test', sender: '@a:x', content: { tag: 't2', sent_at_ms: 400 }, receivedAtMs: 450, fetchedByProcess: 'notifier', fetchedByPid: 7, batchSince: null, batchNextBatch: 'n' };
      recordHandled(store.db, 'main', row, 900);
      const rows = store.db.prepare('SELECT seq, tag, sent_at_ms, stored_at_ms, handled_at_ms FROM handled ORDER BY seq').all();
      expect(rows).toEqual([
        { seq: 1, tag: 't1', sent_at_ms: 100, stored_at_ms: null, handled_at_ms: 300 },
        { seq: 2, tag: 't2', sent_at_ms: 400, stored_at_ms: 450, handled_at_ms: 900 },
      ]);
    } finally {
      store.close();
    }
  });
});
