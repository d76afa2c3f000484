import { describe, expect, it } from 'vitest';
import { CHUNK_ROWS, consume } from '../../../src/store/consume';
import { compactInbox } from '../../../src/store/inbox-compaction';
import { commitBatch } from '../../../src/store/commit-batch';
import { advanceCursor, listCursors, readCursor, registerConsumer } from '../../../src/store/cursors';
import { inboxStats } from '../../../src/store/inbox';
import type { ClientStore } from '../../../src/store/open-store';
import { reopen, tempStore } from './temp-store';

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
    expect(summary).toEqual({ handled: 5, skipped: 0, skippedByWindow: 0, cursor: 5 });
    expect(consume(store, 'main', () => seen.push(-1), { clock }).handled).toBe(0);
    expect(seen).toHaveLength(5);
  });

  it('consume: maxRows bounds one call', () => {
    const store = tempStore();
    fill(store, 5);
    expect(consume(store, 'main', () => undefined, { maxRows: 2, clock })).toEqual({ handled: 2, skipped: 0, skippedByWindow: 0, cursor: 2 });
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

  it('consume: a throw mid-chunk commits the rows before it, rolls back only the failing row, then rethrows', () => {
    const store = tempStore();
    setUpEffects(store);
    fill(store, 10);
    const attempts: number[] = [];
    const failAtSix = (row: { content: Record<string, unknown> }, db: ClientStore['db']) => {
      attempts.push(row.content.n as number);
      db.prepare('INSERT INTO effects (n) VALUES (?)').run(row.content.n);
      if (row.content.n === 6) throw new Error('row 6 failed');
    };
    // All ten rows fit in one chunk, so rows 0-5 and the failing row 6 share one transaction.
    expect(CHUNK_ROWS).toBeGreaterThanOrEqual(10);
    expect(() => consume(store, 'main', failAtSix, { clock })).toThrow('row 6 failed');
    expect(attempts).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Rows 0-5 (seq 1-6) are durable with their cursor: the chunk was not rolled back as a whole.
    expect(readCursor(reopen(store), 'main')).toBe(6);
    // Row 6's effect went with its savepoint.
    expect(store.db.prepare('SELECT n FROM effects ORDER BY n').all()).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ n })));
    // The next call starts again at the failing row and finishes the rest once.
    const summary = consume(store, 'main', (row, db) => db.prepare('INSERT INTO effects (n) VALUES (?)').run(row.content.n), { clock });
    expect(summary).toEqual({ handled: 4, skipped: 0, skippedByWindow: 0, cursor: 10 });
    expect(store.db.prepare('SELECT n FROM effects ORDER BY n').all()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ n })));
  });

  it('consume: the rows of one chunk become visible to other processes together', () => {
    const store = tempStore();
    fill(store, 3);
    const other = reopen(store);
    registerConsumer(store, 'main', clock);
    const seenByOther: Array<number | undefined> = [];
    consume(store, 'main', () => seenByOther.push(readCursor(other, 'main')), { clock });
    // Per-row transactions would have shown 0, 1, 2: the chunk commits once, after its last row.
    expect(seenByOther).toEqual([0, 0, 0]);
    expect(readCursor(other, 'main')).toBe(3);
  });

  it('consume: chunkRows sets how many rows one transaction delivers (the notifier takes its pass in one)', () => {
    const store = tempStore();
    fill(store, CHUNK_ROWS * 2 + 5);
    const other = reopen(store);
    registerConsumer(store, 'main', clock);
    registerConsumer(store, 'notifier', clock);
    const chunked = new Set<number | undefined>();
    consume(store, 'main', () => chunked.add(readCursor(other, 'main')), { clock, maxRows: 1000 });
    // Default chunks: other processes saw the cursor move after each of them.
    expect([...chunked]).toEqual([0, CHUNK_ROWS, CHUNK_ROWS * 2]);
    const whole = new Set<number | undefined>();
    const summary = consume(store, 'notifier', () => whole.add(readCursor(other, 'notifier')), { clock, maxRows: 1000, chunkRows: 1000 });
    expect([...whole]).toEqual([0]);
    expect(summary.handled).toBe(CHUNK_ROWS * 2 + 5);
    expect(readCursor(other, 'notifier')).toBe(CHUNK_ROWS * 2 + 5);
  });

  it('consume: more rows than one chunk are delivered in order across chunks, within maxRows', () => {
    const store = tempStore();
    fill(store, CHUNK_ROWS + 10);
    const seen: number[] = [];
    const first = consume(store, 'main', (row) => seen.push(row.content.n as number), { clock, maxRows: CHUNK_ROWS + 3 });
    expect(first).toEqual({ handled: CHUNK_ROWS + 3, skipped: 0, skippedByWindow: 0, cursor: CHUNK_ROWS + 3 });
    const rest = consume(store, 'main', (row) => seen.push(row.content.n as number), { clock, maxRows: 1000 });
    expect(rest).toEqual({ handled: 7, skipped: 0, skippedByWindow: 0, cursor: CHUNK_ROWS + 10 });
    expect(seen).toEqual(Array.from({ length: CHUNK_ROWS + 10 }, (_, n) => n));
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
    expect(summary).toEqual({ handled: 2, skipped: 1, skippedByWindow: 0, cursor: 3 });
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
    const compact = (): number => compactInbox(store, { limit: { maxRows: 0, maxAgeMs: null }, nowMs: 1 }).deleted;
    fill(store, 4);
    expect(compact()).toBe(0);
    registerConsumer(store, 'notifier', clock);
    consume(store, 'main', () => undefined, { clock });
    expect(compact()).toBe(0);
    consume(store, 'notifier', () => undefined, { maxRows: 3, clock });
    expect(compact()).toBe(3);
    expect(inboxStats(store)).toEqual({ count: 1, minSeq: 4, maxSeq: 4, lastSeq: 4 });
    consume(store, 'notifier', () => undefined, { clock });
    compact();
    expect(inboxStats(store)).toEqual({ count: 0, minSeq: null, maxSeq: null, lastSeq: 4 });
    fill(store, 1);
    expect(inboxStats(store).minSeq).toBe(5);
    expect(listCursors(store).map((c) => c.consumer)).toEqual(['main', 'notifier']);
  });
});
