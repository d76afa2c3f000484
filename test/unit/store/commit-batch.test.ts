import { describe, expect, it } from 'vitest';
import { commitBatch } from '../../../src/store/commit-batch';
import { listInbox } from '../../../src/store/inbox';
import { releaseLease, tryAcquireLease } from '../../../src/store/lease';
import { naiveAppendEvents, naiveWriteToken } from '../../../src/store/naive-commit';
import { countOlmOutcome, olmOutcomeCounts } from '../../../src/store/olm-bookkeeping';
import type { ToDeviceEvent } from '../../../src/shared/wire';
import { readToken } from '../../../src/store/token';
import { reopen, tempStore } from './temp-store';

const event = (n: number) => ({ type: 'm.test', sender: '@alice:hs', content: { n } });
const base = { process: 'main', pid: 10, nowMs: 5 };

describe('commit-batch', () => {
  it('commit: the first batch swaps a null token and appends its events in order', () => {
    const store = tempStore();
    const result = commitBatch(store, { ...base, expectedSince: null, nextBatch: 't1', events: [event(1), event(2)] });
    expect(result).toEqual({ kind: 'committed', firstSeq: 1, lastSeq: 2, tokenVersion: 1 });
    expect(readToken(store)).toMatchObject({ since: 't1', version: 1, updatedByProcess: 'main' });
    const rows = listInbox(store);
    expect(rows.map((row) => row.content)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(rows[0]).toMatchObject({ fetchedByProcess: 'main', fetchedByPid: 10, batchSince: null, batchNextBatch: 't1' });
  });

  it('commit: batches longer than one multi-row insert keep their order, consecutive seqs and every row\'s own fields', () => {
    const store = tempStore();
    commitBatch(store, { ...base, expectedSince: null, nextBatch: 't1', events: [event(0)] });
    const events = Array.from({ length: 250 }, (_, n) => ({ ...event(n), sender: `@s${n % 7}:hs` }));
    const result = commitBatch(store, {
      ...base,
      expectedSince: 't1',
      nextBatch: 't2',
      events,
      transformEvents: (fetched) =>
        fetched.map((each, n) =>
          n % 3 === 0 ? { ...each, decryptionError: 'bad-mac' as const } : n % 3 === 1 ? { ...each, encryption: { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: `key-${n}`, session_id: 's', sender_device_id: 'D', sender_ed25519: 'e' } } : each,
        ),
    });
    expect(result).toMatchObject({ kind: 'committed', firstSeq: 2, lastSeq: 251 });
    const rows = listInbox(store, { afterSeq: 1 });
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: 250 }, (_, n) => n + 2));
    expect(rows.map((row) => [row.content.n, row.sender])).toEqual(events.map((each) => [each.content.n, each.sender]));
    expect(rows.map((row) => row.decryptionError ?? null)).toEqual(events.map((_, n) => (n % 3 === 0 ? 'bad-mac' : null)));
    expect(rows.map((row) => row.encryption?.sender_key ?? null)).toEqual(events.map((_, n) => (n % 3 === 1 ? `key-${n}` : null)));
    for (const row of rows) expect(row).toMatchObject({ fetchedByProcess: 'main', fetchedByPid: 10, receivedAtMs: 5, batchSince: 't1', batchNextBatch: 't2' });
  });

  it('commit: an empty batch still moves the token', () => {
    const store = tempStore();
    const result = commitBatch(store, { ...base, expectedSince: null, nextBatch: 't1', events: [] });
    expect(result).toMatchObject({ kind: 'committed', firstSeq: null, lastSeq: null });
    expect(readToken(store).since).toBe('t1');
  });

  it('commit: stale token discards the batch', () => {
    const store = tempStore();
    const other = reopen(store);
    commitBatch(other, { ...base, process: 'notifier', expectedSince: null, nextBatch: 't1', events: [event(1)] });
    const result = commitBatch(store, { ...base, expectedSince: null, nextBatch: 't1', events: [event(1)] });
    expect(result).toEqual({ kind: 'stale', currentSince: 't1' });
    expect(listInbox(store)).toHaveLength(1);
    expect(readToken(store).version).toBe(1);
  });

  it('commit: a holder that lost its lease is fenced and writes nothing', () => {
    const store = tempStore();
    tryAcquireLease(store, { key: 'k', holder: 'main', durationMs: 100, nowMs: 0 });
    tryAcquireLease(store, { key: 'k', holder: 'notifier', durationMs: 100, nowMs: 200 });
    const result = commitBatch(store, {
      ...base,
      expectedSince: null,
      nextBatch: 't1',
      events: [event(1)],
      fence: { key: 'k', holder: 'main', generation: 1 },
    });
    expect(result).toEqual({ kind: 'fenced' });
    expect(readToken(store).since).toBeNull();
    expect(listInbox(store)).toHaveLength(0);
  });

  it('commit: a holder whose released lease nobody took is not fenced', () => {
    const store = tempStore();
    tryAcquireLease(store, { key: 'k', holder: 'main', durationMs: 100, nowMs: 0 });
    releaseLease(store, { key: 'k', holder: 'main', generation: 1 });
    const fence = { key: 'k', holder: 'main', generation: 1 };
    const result = commitBatch(store, { ...base, expectedSince: null, nextBatch: 't1', events: [], fence });
    expect(result.kind).toBe('committed');
  });

  it('commit: a crash at mid-commit rolls the token swap back', () => {
    const store = tempStore();
    const crash = new Error('simulated SIGKILL at mid-commit');
    expect(() =>
      commitBatch(store, {
        ...base,
        expectedSince: null,
        nextBatch: 't1',
        events: [event(1)],
        afterTokenSwap: () => {
          throw crash;
        },
      }),
    ).toThrow(crash);
    expect(readToken(store)).toMatchObject({ since: null, version: 0 });
    expect(listInbox(store)).toHaveLength(0);
  });

  it('commit: transformEvents turns the fetched events into the rows appended, and its writes commit with them', () => {
    const store = tempStore();
    const result = commitBatch(store, {
      ...base,
      expectedSince: null,
      nextBatch: 't1',
      events: [event(1), event(2)],
      transformEvents: (events) => {
        countOlmOutcome(store, 'transformed', 5);
        return events.map((each, index) => (index === 0 ? { ...each, type: 'm.clear', decryptionError: undefined } : { ...each, decryptionError: 'bad-mac' as const }));
      },
    });
    expect(result).toMatchObject({ kind: 'committed', firstSeq: 1, lastSeq: 2 });
    expect(listInbox(store).map((row) => [row.type, row.decryptionError])).toEqual([['m.clear', undefined], ['m.test', 'bad-mac']]);
    expect(olmOutcomeCounts(store)).toEqual({ transformed: 1 });
  });

  it('commit: a stale or fenced commit never calls transformEvents', () => {
    const store = tempStore();
    const calls: string[] = [];
    const transformEvents = (events: readonly ToDeviceEvent[]) => {
      calls.push('called');
      return events;
    };
    commitBatch(reopen(store), { ...base, process: 'notifier', expectedSince: null, nextBatch: 't1', events: [] });
    expect(commitBatch(store, { ...base, expectedSince: null, nextBatch: 't1', events: [event(1)], transformEvents }).kind).toBe('stale');
    tryAcquireLease(store, { key: 'k', holder: 'main', durationMs: 100, nowMs: 0 });
    tryAcquireLease(store, { key: 'k', holder: 'notifier', durationMs: 100, nowMs: 200 });
    const fence = { key: 'k', holder: 'main', generation: 1 };
    expect(commitBatch(store, { ...base, expectedSince: 't1', nextBatch: 't2', events: [event(1)], fence, transformEvents }).kind).toBe('fenced');
    expect(calls).toEqual([]);
  });

  it('commit: when anything after transformEvents fails, its writes roll back with the token', () => {
    const store = tempStore();
    const crash = new Error('simulated SIGKILL at mid-commit');
    expect(() =>
      commitBatch(store, {
        ...base,
        expectedSince: null,
        nextBatch: 't1',
        events: [event(1)],
        transformEvents: (events) => {
          countOlmOutcome(store, 'transformed', 5);
          return events;
        },
        afterTokenSwap: () => {
          throw crash;
        },
      }),
    ).toThrow(crash);
    expect(olmOutcomeCounts(store)).toEqual({});
    expect(readToken(store).since).toBeNull();
  });

  it('naive commit: a crash between its two transactions leaves the token ahead of the events (F3)', () => {
    const store = tempStore();
    const batch = { ...base, since: null, nextBatch: 't1', events: [event(1)] };
    naiveWriteToken(store, batch);
    expect(readToken(store).since).toBe('t1');
    expect(listInbox(store)).toHaveLength(0);
    naiveAppendEvents(store, batch);
    expect(listInbox(store)).toHaveLength(1);
  });
});
