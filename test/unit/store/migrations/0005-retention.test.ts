// Migration `retention`: a store from before it upgrades in place, keeps its rows, and starts its running totals
// at zero (so the dashboard's counters read exactly what they read before the upgrade).
import { describe, expect, it } from 'vitest';
import { summarizeHandled } from '../../../../src/store/handled';
import { LATEST_SCHEMA_VERSION } from '../../../../src/store/migrations/registry';
import { countNotifications } from '../../../../src/store/notification-log';
import { openStore } from '../../../../src/store/open-store';
import { readStorageStats } from '../../../../src/store/storage-stats';
import { databaseBefore } from './database-before';

describe('migration retention', () => {
  it('migration retention: a store from before it upgrades, keeps its handled rows and notifications, totals start at zero', () => {
    const { file, db } = databaseBefore('retention');
    db.prepare("INSERT INTO handled (consumer, seq, type, tag, sent_at_ms, handled_at_ms) VALUES ('main', 1, 'm.test', 't1', NULL, 1)").run();
    db.prepare("INSERT INTO notifications (event_id, pid, outcome, session_id, shown_at_ms) VALUES ('$e', 1, 'decrypted', 'S', 1)").run();
    db.close();

    const store = openStore(file);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
      expect(summarizeHandled(store, 'main')).toEqual({ rows: 1, distinctTags: 1, duplicates: 0 });
      expect(countNotifications(store).decrypted).toBe(1);
      const stats = readStorageStats(store);
      expect(stats.removed).toEqual({ inboxRows: 0, notifierRowsSkipped: 0, handledRows: 0, eventLogRows: 0, notifications: 0, timelineRows: 0, vacuumPagesFreed: 0 });
      expect(stats.lastCompactionAtMs).toBeNull();
    } finally {
      store.close();
    }
  });
});
