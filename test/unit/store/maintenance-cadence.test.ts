// Maintenance cadence: compaction that stopped at its bound comes back after the short "behind" interval (so it
// keeps pace with a drain), one bounded batch per step, and returns to its once-a-second cadence once caught up.
import { describe, expect, it } from 'vitest';
import { consume } from '../../../src/store/consume';
import { MAIN_CONSUMER, NOTIFIER_CONSUMER } from '../../../src/store/cursors';
import { recordHandled } from '../../../src/store/handled';
import { appendToInbox } from '../../../src/store/inbox';
import { COMPACTION_BATCH_ROWS } from '../../../src/store/inbox-compaction';
import { DEFAULT_BEHIND_INTERVAL_MS, DEFAULT_COMPACT_INTERVAL_MS, StoreMaintenance } from '../../../src/store/maintenance';
import { writeRetentionPolicy } from '../../../src/store/retention-policy';
import { tempStore } from './temp-store';

describe('maintenance cadence', () => {
  it('maintenance cadence: a compaction behind runs again after the behind interval, one batch at a time, then back to once a second', () => {
    const store = tempStore();
    writeRetentionPolicy(store, { inbox: { maxRows: 0, maxAgeMs: null } });
    const rows = 3 * COMPACTION_BATCH_ROWS + 10;
    const events = Array.from({ length: rows }, (_, i) => ({ type: 'm.test', sender: '@a:x', content: { tag: `t${i}` } }));
    store.immediate(() => appendToInbox(store, events, { receivedAtMs: 0, process: 'main', pid: 1, batchSince: null, batchNextBatch: 'n' }));
    let nowMs = 1000;
    const clock = { nowMs: () => nowMs };
    const maintenance = new StoreMaintenance({ store, clock });
    for (const consumer of [MAIN_CONSUMER, NOTIFIER_CONSUMER]) consume(store, consumer, () => undefined, { clock, maxRows: rows });
    const deletedAt = (atMs: number): number | undefined => {
      nowMs = atMs;
      return maintenance.step()?.inboxDeleted;
    };
    expect(deletedAt(1000)).toBe(COMPACTION_BATCH_ROWS);
    expect(deletedAt(1000 + DEFAULT_BEHIND_INTERVAL_MS - 1)).toBeUndefined();
    expect(deletedAt(1000 + DEFAULT_BEHIND_INTERVAL_MS)).toBe(COMPACTION_BATCH_ROWS);
    expect(deletedAt(1000 + 2 * DEFAULT_BEHIND_INTERVAL_MS)).toBe(COMPACTION_BATCH_ROWS);
    expect(deletedAt(1000 + 3 * DEFAULT_BEHIND_INTERVAL_MS)).toBe(10);
    // Caught up (the slow tasks too, which ran in the same steps): the next compaction is a full interval away.
    const caughtUpAtMs = 1000 + 3 * DEFAULT_BEHIND_INTERVAL_MS;
    expect(deletedAt(caughtUpAtMs + DEFAULT_BEHIND_INTERVAL_MS)).toBeUndefined();
    expect(deletedAt(caughtUpAtMs + DEFAULT_COMPACT_INTERVAL_MS - 1)).toBeUndefined();
    expect(deletedAt(caughtUpAtMs + DEFAULT_COMPACT_INTERVAL_MS)).toBe(0);
  });

  it('maintenance cadence: a step that comes late while behind runs one batch per behind interval that passed, at most ten', () => {
    const store = tempStore();
    writeRetentionPolicy(store, { inbox: { maxRows: 0, maxAgeMs: null } });
    const rows = 20 * COMPACTION_BATCH_ROWS;
    const events = Array.from({ length: rows }, (_, i) => ({ type: 'm.test', sender: '@a:x', content: { tag: `t${i}` } }));
    store.immediate(() => appendToInbox(store, events, { receivedAtMs: 0, process: 'main', pid: 1, batchSince: null, batchNextBatch: 'n' }));
    let nowMs = 1000;
    const clock = { nowMs: () => nowMs };
    const maintenance = new StoreMaintenance({ store, clock });
    for (const consumer of [MAIN_CONSUMER, NOTIFIER_CONSUMER]) consume(store, consumer, () => undefined, { clock, maxRows: rows });
    expect(maintenance.step()?.inboxDeleted).toBe(COMPACTION_BATCH_ROWS);
    nowMs += 3 * DEFAULT_BEHIND_INTERVAL_MS;
    expect(maintenance.step()?.inboxDeleted).toBe(3 * COMPACTION_BATCH_ROWS);
    nowMs += 60 * DEFAULT_BEHIND_INTERVAL_MS;
    expect(maintenance.step()?.inboxDeleted).toBe(10 * COMPACTION_BATCH_ROWS);
  });

  it('maintenance cadence: handled rows over their limit are pruned at the compaction cadence, not only every 30 s', () => {
    const store = tempStore();
    writeRetentionPolicy(store, { handled: { maxRows: 10, maxAgeMs: null } });
    let nowMs = 1000;
    const clock = { nowMs: () => nowMs };
    const maintenance = new StoreMaintenance({ store, clock });
    consume(store, MAIN_CONSUMER, () => undefined, { clock });
    expect(maintenance.step()?.pruned.handled).toBe(0);
    const events = Array.from({ length: 50 }, (_, i) => ({ type: 'm.test', sender: '@a:x', content: { tag: `t${i}` } }));
    store.immediate(() => appendToInbox(store, events, { receivedAtMs: 0, process: 'main', pid: 1, batchSince: null, batchNextBatch: 'n' }));
    consume(store, MAIN_CONSUMER, (row, db) => recordHandled(db, MAIN_CONSUMER, row, nowMs), { clock, maxRows: 50 });
    nowMs += DEFAULT_COMPACT_INTERVAL_MS;
    expect(maintenance.step()?.pruned.handled).toBe(40);
    expect(store.db.prepare('SELECT count(*) AS n FROM handled').get()).toEqual({ n: 10 });
  });

  it('maintenance cadence: handled is pruned one compaction batch per consumer at a time, so no prune holds the loop for long', () => {
    const store = tempStore();
    writeRetentionPolicy(store, { handled: { maxRows: 10, maxAgeMs: null } });
    let nowMs = 1000;
    const clock = { nowMs: () => nowMs };
    const maintenance = new StoreMaintenance({ store, clock });
    // The first step runs the slow tasks too; after it they are 30 s away, and compaction alone prunes.
    maintenance.step();
    const rows = 2 * COMPACTION_BATCH_ROWS + 500 + 10;
    const events = Array.from({ length: rows }, (_, i) => ({ type: 'm.test', sender: '@a:x', content: { tag: `t${i}` } }));
    store.immediate(() => appendToInbox(store, events, { receivedAtMs: 0, process: 'main', pid: 1, batchSince: null, batchNextBatch: 'n' }));
    for (const consumer of [MAIN_CONSUMER, NOTIFIER_CONSUMER]) {
      consume(store, consumer, (row, db) => recordHandled(db, consumer, row, nowMs), { clock, maxRows: rows });
    }
    const prunedAt = (atMs: number): number | undefined => {
      nowMs = atMs;
      return maintenance.step()?.pruned.handled;
    };
    // Two consumers, one batch each per compaction; behind, the next batch comes after the behind interval.
    const startMs = 1000 + DEFAULT_COMPACT_INTERVAL_MS;
    expect(prunedAt(startMs)).toBe(2 * COMPACTION_BATCH_ROWS);
    expect(prunedAt(startMs + DEFAULT_BEHIND_INTERVAL_MS)).toBe(2 * COMPACTION_BATCH_ROWS);
    expect(prunedAt(startMs + 2 * DEFAULT_BEHIND_INTERVAL_MS)).toBe(2 * 500);
    expect(store.db.prepare('SELECT consumer, count(*) AS n FROM handled GROUP BY consumer ORDER BY consumer').all()).toEqual([
      { consumer: MAIN_CONSUMER, n: 10 },
      { consumer: NOTIFIER_CONSUMER, n: 10 },
    ]);
  });

  it("maintenance cadence: the notifier's window moves at the compaction cadence, so compaction is not held for 30 s", () => {
    const store = tempStore();
    writeRetentionPolicy(store, { inbox: { maxRows: 0, maxAgeMs: null }, notifierWindow: { maxRows: 10, maxAgeMs: null } });
    let nowMs = 1000;
    const clock = { nowMs: () => nowMs };
    const maintenance = new StoreMaintenance({ store, clock });
    maintenance.step();
    const events = Array.from({ length: 50 }, (_, i) => ({ type: 'm.test', sender: '@a:x', content: { tag: `t${i}` } }));
    store.immediate(() => appendToInbox(store, events, { receivedAtMs: 0, process: 'main', pid: 1, batchSince: null, batchNextBatch: 'n' }));
    consume(store, MAIN_CONSUMER, () => undefined, { clock, maxRows: 50 });
    nowMs += DEFAULT_COMPACT_INTERVAL_MS;
    expect(maintenance.step()).toMatchObject({ notifierSkipped: 40, inboxDeleted: 40 });
  });
});

