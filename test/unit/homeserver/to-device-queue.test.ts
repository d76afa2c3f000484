import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/homeserver/db';
import { ACKED_ROWS_DELETE_STRIDE, ToDeviceQueue } from '../../../src/homeserver/to-device-queue';

function setup() {
  const { db } = openDatabase(':memory:', 'hs');
  db.prepare("INSERT INTO users (user_id, password_hash, created_ts) VALUES ('@a:hs', 'x', 0)").run();
  for (const device of ['D1', 'D2']) {
    db.prepare("INSERT INTO devices (user_id, device_id, created_ts, last_seen_ts) VALUES ('@a:hs', ?, 0, 0)").run(device);
  }
  const queue = new ToDeviceQueue(db);
  const put = (deviceId: string, n: number) =>
    queue.enqueue([{ userId: '@a:hs', deviceId, type: 't', sender: '@s:hs', content: { n } }]);
  return { db, queue, put };
}

describe('to-device queue', () => {
  it('queue: the batch as text, contents spliced unparsed, reads as the same batch and records the same delivery', () => {
    const { db, queue } = setup();
    const contents = [{ n: 0, body: 'é "quoted" \\ \u0000 \u2028 😀', nested: { list: [1, null, true], empty: {} } }, { n: 1 }, {}];
    for (const content of contents) queue.enqueue([{ userId: '@a:hs', deviceId: 'D1', type: 'm.type "odd"', sender: '@s:hs', content }]);
    const text = queue.takeBatchText('@a:hs', 'D1', 0, 10);
    const parsed = queue.takeBatch('@a:hs', 'D1', 0, 10);
    expect(JSON.parse(text.eventsJson)).toEqual(parsed.events);
    expect(parsed.events.map((event) => event.content)).toEqual(contents);
    expect(text.nextStreamId).toBe(parsed.nextStreamId);
    expect(queue.inspect('@a:hs', 'D1')?.delivered).toBe(6);
    expect(queue.takeBatchText('@a:hs', 'D2', 0, 10)).toEqual({ eventsJson: '[]', nextStreamId: 0 });
    db.close();
  });

  it('queue: one enqueue of many messages to several devices keeps their order in stream ids, stores each content as given, and counts each device once per message', () => {
    const { db, queue } = setup();
    // More than one multi-row insert's worth, interleaved between two devices; some carry their JSON already.
    const messages = Array.from({ length: 75 }, (_, n) => ({
      userId: '@a:hs',
      deviceId: n % 3 === 0 ? 'D2' : 'D1',
      type: 't',
      sender: '@s:hs',
      content: { n },
      ...(n % 2 === 0 ? { contentJson: JSON.stringify({ n }) } : {}),
    }));
    expect(queue.enqueue(messages)).toBe(75);
    const rows = db.prepare('SELECT device_id, content FROM to_device_queue ORDER BY stream_id').all() as Array<{ device_id: string; content: string }>;
    expect(rows.map((row) => [row.device_id, (JSON.parse(row.content) as { n: number }).n])).toEqual(messages.map((m) => [m.deviceId, m.content.n]));
    expect(queue.inspect('@a:hs', 'D1')?.accepted).toBe(50);
    expect(queue.inspect('@a:hs', 'D2')?.accepted).toBe(25);
    expect(queue.takeBatch('@a:hs', 'D2', 0, 100).events.map((event) => event.content.n)).toEqual(messages.filter((m) => m.deviceId === 'D2').map((m) => m.content.n));
    db.close();
  });

  it('queue: an empty batch never moves the position past an unreturned message', () => {
    const { queue, put } = setup();
    put('D2', 0);
    put('D2', 1);
    const batch = queue.takeBatch('@a:hs', 'D1', 0, 10);
    expect(batch).toEqual({ events: [], nextStreamId: 0 });
    put('D1', 2);
    const next = queue.takeBatch('@a:hs', 'D1', batch.nextStreamId, 10);
    expect(next.events.map((e) => e.content.n)).toEqual([2]);
  });

  it('queue: acknowledge deletes only this device\'s rows up to since and counts them', () => {
    const { queue, put } = setup();
    put('D1', 0);
    put('D2', 1);
    put('D1', 2);
    const first = queue.takeBatch('@a:hs', 'D1', 0, 1);
    expect(queue.acknowledge('@a:hs', 'D1', first.nextStreamId)).toBe(1);
    expect(queue.inspect('@a:hs', 'D1')).toMatchObject({ accepted: 2, delivered: 1, deleted: 1, acked_stream_id: first.nextStreamId });
    expect(queue.inspect('@a:hs', 'D2')?.queued).toHaveLength(1);
    expect(queue.positions('@a:hs', 'D1')?.max_issued_stream_id).toBe(first.nextStreamId);
  });

  it('queue: acknowledged messages whose rows are still stored are never returned, inspected, waited for or counted again', () => {
    const { db, queue, put } = setup();
    for (let n = 0; n < 5; n += 1) put('D1', n);
    put('D2', 5);
    const storedRows = (deviceId: string) => db.prepare('SELECT count(*) FROM to_device_queue WHERE device_id = ?').pluck().get(deviceId);
    const first = queue.takeBatch('@a:hs', 'D1', 0, 3);
    expect(queue.acknowledge('@a:hs', 'D1', first.nextStreamId)).toBe(3);
    expect(storedRows('D1')).toBe(5);
    // A request with an older since (or none) starts after the acknowledged position, as if the rows were gone.
    for (const since of [0, 1, first.nextStreamId]) {
      expect(queue.takeBatch('@a:hs', 'D1', since, 10).events.map((e) => e.content.n)).toEqual([3, 4]);
      expect(queue.takeBatchText('@a:hs', 'D1', since, 10).eventsJson).toContain('"content":{"n":3}');
    }
    expect(queue.acknowledge('@a:hs', 'D1', 1)).toBe(0);
    expect(queue.inspect('@a:hs', 'D1')).toMatchObject({ deleted: 3, acked_stream_id: first.nextStreamId });
    expect(queue.inspect('@a:hs', 'D1')?.queued.map((row) => row.content.n)).toEqual([3, 4]);
    const rest = queue.takeBatch('@a:hs', 'D1', first.nextStreamId, 10);
    expect(queue.acknowledge('@a:hs', 'D1', rest.nextStreamId)).toBe(2);
    expect(queue.hasEventsAfter('@a:hs', 'D1', 0)).toBe(false);
    expect(queue.takeBatch('@a:hs', 'D1', 0, 10)).toEqual({ events: [], nextStreamId: rest.nextStreamId });
    expect(queue.inspect('@a:hs', 'D1')).toMatchObject({ queued: [], deleted: 5 });
    expect(queue.inspect('@a:hs', 'D2')?.queued).toHaveLength(1);
  });

  it('queue: acknowledged rows leave the table when the acknowledged position crosses a stride, other devices\' rows stay', async () => {
    const { db, queue, put } = setup();
    const storedRows = (deviceId: string) => db.prepare('SELECT count(*) FROM to_device_queue WHERE device_id = ?').pluck().get(deviceId);
    put('D2', -1);
    for (let n = 0; n < ACKED_ROWS_DELETE_STRIDE + 10; n += 1) put('D1', n);
    const below = queue.takeBatch('@a:hs', 'D1', 0, ACKED_ROWS_DELETE_STRIDE - 10);
    expect(below.nextStreamId).toBeLessThan(ACKED_ROWS_DELETE_STRIDE);
    queue.acknowledge('@a:hs', 'D1', below.nextStreamId);
    expect(storedRows('D1')).toBe(ACKED_ROWS_DELETE_STRIDE + 10);
    const across = queue.takeBatch('@a:hs', 'D1', below.nextStreamId, 100);
    expect(across.nextStreamId).toBeGreaterThanOrEqual(ACKED_ROWS_DELETE_STRIDE);
    expect(queue.acknowledge('@a:hs', 'D1', across.nextStreamId)).toBe(across.events.length);
    // Logically deleted at once; the rows leave in a sweep of their own, in the next turn of the event loop.
    expect(queue.inspect('@a:hs', 'D1')).toMatchObject({ deleted: below.events.length + across.events.length, accepted: ACKED_ROWS_DELETE_STRIDE + 10 });
    expect(storedRows('D1')).toBe(ACKED_ROWS_DELETE_STRIDE + 10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(storedRows('D1')).toBe(ACKED_ROWS_DELETE_STRIDE + 10 - (below.events.length + across.events.length));
    expect(storedRows('D2')).toBe(1);
    expect(queue.inspect('@a:hs', 'D1')).toMatchObject({ deleted: below.events.length + across.events.length, accepted: ACKED_ROWS_DELETE_STRIDE + 10 });
    expect(queue.sweepAcknowledged()).toBe(0);
  });

  it('queue: a sweep deletes only what is acknowledged when it runs, whatever the acknowledgement that asked for it became', () => {
    const { db, queue, put } = setup();
    const storedRows = () => db.prepare("SELECT count(*) FROM to_device_queue WHERE device_id = 'D1'").pluck().get();
    for (let n = 0; n < ACKED_ROWS_DELETE_STRIDE + 10; n += 1) put('D1', n);
    const batch = queue.takeBatch('@a:hs', 'D1', 0, ACKED_ROWS_DELETE_STRIDE + 5);
    // The acknowledgement crosses the stride inside a transaction that then rolls back: nothing was acknowledged.
    expect(() =>
      db.transaction(() => {
        queue.acknowledge('@a:hs', 'D1', batch.nextStreamId);
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    expect(queue.sweepAcknowledged()).toBe(0);
    expect(storedRows()).toBe(ACKED_ROWS_DELETE_STRIDE + 10);
    expect(queue.takeBatch('@a:hs', 'D1', 0, 3).events.map((event) => event.content.n)).toEqual([0, 1, 2]);
    // Acknowledged for real this time: the sweep takes exactly the acknowledged rows.
    queue.acknowledge('@a:hs', 'D1', batch.nextStreamId);
    expect(queue.sweepAcknowledged()).toBe(ACKED_ROWS_DELETE_STRIDE + 5);
    expect(storedRows()).toBe(5);
    db.close();
  });

  it('queue: a sweep commits without waiting for the disk, and every other write of the queue waits for it', () => {
    const { db, queue, put } = setup();
    const pragmas: string[] = [];
    const pragma = db.pragma.bind(db);
    db.pragma = ((source: string, options?: { simple?: boolean }) => {
      if (source.startsWith('synchronous =')) pragmas.push(source);
      return pragma(source, options);
    }) as typeof db.pragma;
    for (let n = 0; n < ACKED_ROWS_DELETE_STRIDE + 10; n += 1) put('D1', n);
    const batch = queue.takeBatch('@a:hs', 'D1', 0, ACKED_ROWS_DELETE_STRIDE + 5);
    queue.acknowledge('@a:hs', 'D1', batch.nextStreamId);
    expect(pragmas).toEqual([]);
    expect(queue.sweepAcknowledged()).toBe(ACKED_ROWS_DELETE_STRIDE + 5);
    expect(pragmas).toEqual(['synchronous = NORMAL', 'synchronous = FULL']);
    db.close();
  });

  it('queue: stream ids are never reused after the newest rows are deleted', () => {
    const { queue, put } = setup();
    put('D1', 0);
    const batch = queue.takeBatch('@a:hs', 'D1', 0, 10);
    queue.acknowledge('@a:hs', 'D1', batch.nextStreamId);
    put('D1', 1);
    const next = queue.inspect('@a:hs', 'D1');
    expect(next?.queued[0]?.stream_id).toBeGreaterThan(batch.nextStreamId);
  });

  it('queue: inspecting an unknown device gives undefined', () => {
    const { queue } = setup();
    expect(queue.inspect('@a:hs', 'NOPE')).toBeUndefined();
  });
});
