// The oracle on synthetic data: it must see every kind of violation it reports, and nothing else.
import { describe, expect, it } from 'vitest';
import { floorSplitSamples, judge, percentile, senderTag, storeLatencySamples, type HandledRow } from '../../src/harness/oracle';

const rows = (tags: string[]): HandledRow[] => tags.map((tag, i) => ({ seq: i + 1, tag, sentAtMs: 1000, storedAtMs: 1000 + (i + 1) * 4, handledAtMs: 1000 + (i + 1) * 10 }));
const sent = { bySender: [[1, 2, 3].map((n) => senderTag(0, n)), [1, 2].map((n) => senderTag(1, n))] };

describe('oracle', () => {
  it('oracle: every message once and in order is all delivered', () => {
    const result = judge(sent, rows(['s0-1', 's1-1', 's0-2', 's1-2', 's0-3']));
    expect(result.totals).toEqual({ sent: 5, delivered: 5, lost: 0, duplicated: 0, reordered: 0 });
  });

  it('oracle: a message never handled is lost, and named', () => {
    const result = judge(sent, rows(['s0-1', 's0-3', 's1-1', 's1-2']));
    expect(result.totals).toMatchObject({ delivered: 4, lost: 1, reordered: 0 });
    expect(result.lostTags).toEqual(['s0-2']);
  });

  it('oracle: a message handled twice is one duplicate, not a reordering', () => {
    const result = judge(sent, rows(['s0-1', 's0-2', 's0-1', 's0-3', 's1-1', 's1-2']));
    expect(result.totals).toMatchObject({ delivered: 5, duplicated: 1, reordered: 0, lost: 0 });
  });

  it('oracle: order is per sender; interleaving senders is not reordering, overtaking within one is', () => {
    const result = judge(sent, rows(['s1-1', 's0-2', 's0-1', 's1-2', 's0-3']));
    expect(result.totals).toMatchObject({ reordered: 1, lost: 0, duplicated: 0 });
    expect(result.perSender.find((s) => s.sender === 's0')?.reordered).toBe(1);
    expect(result.perSender.find((s) => s.sender === 's1')?.reordered).toBe(0);
  });

  it('oracle: handled order is inbox seq order, whatever order the rows come in', () => {
    const shuffled = rows(['s0-1', 's0-2', 's0-3']).reverse();
    expect(judge({ bySender: [['s0-1', 's0-2', 's0-3']] }, shuffled).totals.reordered).toBe(0);
  });

  it('oracle: rows with unknown or missing tags are ignored', () => {
    const result = judge({ bySender: [['s0-1']] }, [...rows(['s0-1']), { seq: 9, tag: null, sentAtMs: null, storedAtMs: 4, handledAtMs: 5 }, { seq: 10, tag: 'other', sentAtMs: 1, storedAtMs: 1, handledAtMs: 2 }]);
    expect(result.totals).toEqual({ sent: 1, delivered: 1, lost: 0, duplicated: 0, reordered: 0 });
  });

  it('oracle: room-key tags count as delivered, lost or duplicated; their order is not judged (a late decryption appends them)', () => {
    const keyed = { bySender: [['s0-1', 'room-key:AAA', 's0-2', 'room-key:BBB']] };
    expect(judge(keyed, rows(['s0-1', 'room-key:AAA', 's0-2', 'room-key:BBB'])).totals).toEqual({ sent: 4, delivered: 4, lost: 0, duplicated: 0, reordered: 0 });
    const late = judge(keyed, rows(['s0-1', 's0-2', 'room-key:AAA', 'room-key:AAA']));
    expect(late.totals).toEqual({ sent: 4, delivered: 3, lost: 1, duplicated: 1, reordered: 0 });
    expect(late.lostTags).toEqual(['room-key:BBB']);
    // Counted tags around a room key are still judged against each other.
    expect(judge(keyed, rows(['s0-2', 'room-key:AAA', 's0-1', 'room-key:BBB'])).totals.reordered).toBe(1);
  });

  it('oracle: latency percentiles are nearest-rank over first handlings', () => {
    expect(percentile([10, 20, 30, 40], 0.5)).toBe(20);
    expect(percentile([10, 20, 30, 40], 0.99)).toBe(40);
    expect(percentile([], 0.5)).toBeNull();
    const result = judge({ bySender: [['s0-1', 's0-2']] }, rows(['s0-1', 's0-2', 's0-1']));
    expect(result.latency).toEqual({ count: 2, p50Ms: 10, p99Ms: 20, maxMs: 20 });
  });

  it('oracle: send-to-stored latency is over the same first handlings, and leaves out rows stored before the column existed', () => {
    const handled = rows(['s0-1', 's0-2', 's0-1', 's0-3']);
    expect(storeLatencySamples(handled)).toEqual([4, 8, 16]);
    const older = handled.map((row) => (row.tag === 's0-2' ? { ...row, storedAtMs: null } : row));
    expect(storeLatencySamples(older)).toEqual([4, 16]);
  });
  it('oracle: the latency splits into the part the faults forced and the rest, first handlings only, the forced part within the latency', () => {
    const handled: HandledRow[] = [
      { seq: 1, tag: 's0-1', sentAtMs: 1000, storedAtMs: 1010, handledAtMs: 1500 },
      { seq: 2, tag: 's0-2', sentAtMs: 2000, storedAtMs: 2010, handledAtMs: 2030 },
      { seq: 3, tag: 's0-1', sentAtMs: 1000, storedAtMs: 1010, handledAtMs: 9000 },
      { seq: 4, tag: 's0-3', sentAtMs: 3000, storedAtMs: 3010, handledAtMs: 3100 },
    ];
    // Main could not handle anything from 1000 to 1400, nor from 3000 to 3200 (where s0-3 was handled at 3100 all
    // the same: the forced part stops at the handling).
    const forced = (sentAtMs: number): number => (sentAtMs === 1000 ? 400 : sentAtMs === 3000 ? 200 : 0);
    expect(floorSplitSamples(handled, forced)).toEqual({ forced: [0, 100, 400], beyond: [0, 30, 100] });
  });
});
