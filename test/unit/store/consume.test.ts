import { describe, expect, it } from 'vitest';
import { compactInbox, consume } from '../../../src/store/consume';
import { commitBatch } from '../../../src/store/commit-batch';
import { advanceCursor, listCursors, readCursor, registerConsumer } from '../../../src/store/cursors';
import { inboxStats } from '../../../src/store/inbox';
import type { ClientStore } from '../../../src/store/open-store';
import { tempStore } from './temp-store';

const clock = { nowMs: () => 1 };

function fill(store: ClientStore, count: number, process = 'main'): void {
  const events = Array.from({ length: count }, (_, n) => ({ type: 'm.test', sender: '@a:hs', content: { n } }));
  const since = (store.db.prepare('SELECT since FROM to_device_token').get() as { since: string | null }).since;
  commitBatch(store, { expectedSince: since, nextBatch: `t${Math.random()}`, events, process, pid: 1, nowMs: 0 });
}

function setUpEffects(store: ClientStore): void {
  store.db.exec('CREATE TABLE IF NOT EXISTS effects (n INTEGER)');
}

describe('consume', () => {
  it('consume: delivers rows after the cursor in seq order and advances the cursor', () => {
    const store = tempStore();
    fill(store, 5);
    const seen: number[] = [];
    const summary = consume(store, 'main', (row) => seen.push(row.content.n as number), { clock });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(summary).toEqual({ handled: 5, skipped: 0, cursor: 5 });
    expect(consume(store, 'main', () => seen.push(-1), { clock }).handled).toBe(0);
    expect(seen).toHaveLength(5);
  });

  it('consume: maxRows bounds one call', () => {
    const store = tempStore();
    fill(store, 5);
    expect(consume(store, 'main', () => undefined, { maxRows: 2, clock })).toEqual({ handled: 2, skipped: 0, cursor: 2 });
  });

  it('consume: the handler’s writes and the cursor commit together', () => {
    const store = tempStore();
    setUpEffects(store);
    fill(store, 2);
    consume(store, 'main', (row, db) => db.prepare('INSERT INTO effects (n) VALUES (?)').run(row.content.n), { clock });
    expect(store.db.prepare('SELECT count(*) AS n FROM effects').get()).toEqual({ n: 2 });
  });

  it('consume: a handler that throws rolls back its writes and leaves the cursor', () => {
    const store = tempStore();
    setUpEffects(store);
    fill(store, 3);
    const failing = (row: { content: Record<string, unknown> }, db: ClientStore['db']) => {
      db.prepare('INSERT INTO effects (n) VALUES (?)').run(row.content.n);
      if (row.content.n === 1) throw new Error('handler failed');
    };
    expect(() => consume(store, 'main', failing, { clock })).toThrow('handler failed');
    expect(readCursor(store, 'main')).toBe(1);
    expect(store.db.prepare('SELECT n FROM effects').all()).toEqual([{ n: 0 }]);
  });

  it('consume: a crash after the effect and before the cursor move rolls the effect back', () => {
    const store = tempStore();
    setUpEffects(store);
    fill(store, 1);
    const crash = () => {
      throw new Error('simulated SIGKILL');
    };
    expect(() =>
      consume(store, 'main', (row, db) => db.prepare('INSERT INTO effects (n) VALUES (?)').run(row.content.n), {
        clock,
        afterEffect: crash,
      }),
    ).toThrow('simulated SIGKILL');
    expect(readCursor(store, 'main')).toBe(0);
    expect(store.db.prepare('SELECT count(*) AS n FROM effects').get()).toEqual({ n: 0 });
  });

  it('consume: an async handler is refused as a programmer error and the cursor stays', () => {
    const store = tempStore();
    fill(store, 1);
    expect(() => consume(store, 'main', (async () => undefined) as never, { clock })).toThrow(/synchronous/);
    expect(readCursor(store, 'main')).toBe(0);
  });

  it('consume: fetchedBy passes over rows another process fetched (legacy model)', () => {
    const store = tempStore();
    fill(store, 2, 'main');
    fill(store, 1, 'notifier');
    const seen: string[] = [];
    const summary = consume(store, 'main', (row) => seen.push(row.fetchedByProcess), { fetchedBy: 'main', clock });
    expect(seen).toEqual(['main', 'main']);
    expect(summary).toEqual({ handled: 2, skipped: 1, cursor: 3 });
  });

  it('cursors: a cursor never moves backward', () => {
    const store = tempStore();
    registerConsumer(store, 'main', clock);
    advanceCursor(store, 'main', 5, 1);
    expect(() => advanceCursor(store, 'main', 4, 2)).toThrow(/only move forward/);
    expect(readCursor(store, 'main')).toBe(5);
    expect(() => advanceCursor(store, 'ghost', 1, 1)).toThrow(/not registered/);
  });

  it('compaction: deletes only rows below every registered cursor, and seq is never reused', () => {
    const store = tempStore();
    fill(store, 4);
    expect(compactInbox(store)).toBe(0);
    registerConsumer(store, 'notifier', clock);
    consume(store, 'main', () => undefined, { clock });
    expect(compactInbox(store)).toBe(0);
    consume(store, 'notifier', () => undefined, { maxRows: 3, clock });
    expect(compactInbox(store)).toBe(3);
    expect(inboxStats(store)).toEqual({ count: 1, minSeq: 4, maxSeq: 4 });
    consume(store, 'notifier', () => undefined, { clock });
    compactInbox(store);
    fill(store, 1);
    expect(inboxStats(store).minSeq).toBe(5);
    expect(listCursors(store).map((c) => c.consumer)).toEqual(['main', 'notifier']);
  });
});
