// Conformance: sliding sync connections (pos, conn_id, M_UNKNOWN_POS) and the minimal lists/rooms answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numbers, register, sendNumbered, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';

let ts: TestServer;
let sender: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  sender = await register(ts.url, 'SENDER');
});
afterAll(async () => {
  await ts.close();
});

describe('sliding sync connections', () => {
  it('sliding sync: an unknown pos gets 400 M_UNKNOWN_POS and deletes nothing', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 1);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const since = first.body.extensions.to_device.next_batch;
    const response = await slidingSync(ts.url, me, { pos: 'not-a-pos', body: toDeviceBody({ since }) });
    expect(response).toMatchObject({ status: 400, body: { errcode: 'M_UNKNOWN_POS' } });
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
  });

  it('sliding sync: a pos is unknown to another device and to another conn_id', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    const first = await slidingSync(ts.url, me, { body: { conn_id: 'a' } });
    expect((await slidingSync(ts.url, other, { pos: first.body.pos, body: { conn_id: 'a' } })).body.errcode).toBe('M_UNKNOWN_POS');
    expect((await slidingSync(ts.url, me, { pos: first.body.pos, body: { conn_id: 'b' } })).body.errcode).toBe('M_UNKNOWN_POS');
    expect((await slidingSync(ts.url, me, { pos: first.body.pos, body: { conn_id: 'a' } })).status).toBe(200);
  });

  it('sliding sync: a request without pos replaces the connection, its old pos becomes unknown', async () => {
    const me = await register(ts.url);
    const first = await slidingSync(ts.url, me, { body: { conn_id: 'main' } });
    await slidingSync(ts.url, me, { body: { conn_id: 'main' } });
    expect((await slidingSync(ts.url, me, { pos: first.body.pos, body: { conn_id: 'main' } })).body.errcode).toBe('M_UNKNOWN_POS');
  });

  it('sliding sync: the previous pos stays valid, so a retry after a lost response works', async () => {
    const me = await register(ts.url);
    const first = await slidingSync(ts.url, me, { body: { conn_id: 'main' } });
    await slidingSync(ts.url, me, { pos: first.body.pos, body: { conn_id: 'main' } });
    const retry = await slidingSync(ts.url, me, { pos: first.body.pos, body: { conn_id: 'main' } });
    expect(retry.status).toBe(200);
  });

  it('sliding sync: after M_UNKNOWN_POS a new connection with the last next_batch continues the stream (MSC4538)', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({ limit: 1 }) });
    const since = first.body.extensions.to_device.next_batch;
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'expire-pos' });
    const expired = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since, limit: 1 }) });
    expect(expired.body.errcode).toBe('M_UNKNOWN_POS');
    const fresh = await slidingSync(ts.url, me, { body: toDeviceBody({ since, limit: 1 }) });
    expect(numbers(fresh.body.extensions.to_device.events)).toEqual([1]);
  });

  it('sliding sync: no pos altered in one character is accepted, and a refused one deletes nothing', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({ limit: 1 }) });
    const pos = first.body.pos as string;
    const since = first.body.extensions.to_device.next_batch as string;
    // Each character is replaced by another of its own class, so the altered pos still looks well formed.
    const classes = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '-_.'];
    for (let i = 0; i < pos.length; i += 1) {
      const own = classes.find((chars) => chars.includes(pos[i] ?? '')) ?? classes[1] ?? '';
      const replacement = own[(own.indexOf(pos[i] ?? '') + 1) % own.length];
      const tampered = `${pos.slice(0, i)}${replacement}${pos.slice(i + 1)}`;
      const response = await slidingSync(ts.url, me, { pos: tampered, body: toDeviceBody({ since, limit: 1 }) });
      expect(response.body.errcode, `pos with character ${i} changed`).toBe('M_UNKNOWN_POS');
    }
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
    const genuine = await slidingSync(ts.url, me, { pos, body: toDeviceBody({ since, limit: 1 }) });
    expect(numbers(genuine.body.extensions.to_device.events)).toEqual([1]);
  });

  it('sliding sync: a pos from another database (a server that was reset) gets M_UNKNOWN_POS, even for the same user and device', async () => {
    const other = await startTestServer();
    try {
      const me = await register(ts.url, 'PHONE');
      const localpart = me.userId.slice(1, me.userId.indexOf(':'));
      const twin = await register(other.url, 'PHONE', localpart);
      expect(twin.userId).toBe(me.userId);
      const there = await slidingSync(other.url, twin, { body: { conn_id: 'main' } });
      const here = await slidingSync(ts.url, me, { body: { conn_id: 'main' } });
      expect(here.status).toBe(200);
      expect((await slidingSync(ts.url, me, { pos: there.body.pos, body: { conn_id: 'main' } })).body.errcode).toBe('M_UNKNOWN_POS');
    } finally {
      await other.close();
    }
  });

  it('sliding sync: a pos retried after a lost live answer redelivers exactly that answer; the next since then deletes it', async () => {
    const me = await register(ts.url);
    const opened = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const since = opened.body.extensions.to_device.next_batch as string;
    const poll = { pos: opened.body.pos as string, timeoutMs: 10_000, body: toDeviceBody({ since }) };
    const waiting = slidingSync(ts.url, me, poll);
    // The poll is waiting once its first transaction is done; a message sent before that is still found at once.
    await sendNumbered(ts.url, sender, me, 2);
    const lost = await waiting;
    const delivered = numbers(lost.body.extensions.to_device.events);
    expect(delivered.length).toBeGreaterThan(0);
    const retry = await slidingSync(ts.url, me, { ...poll, timeoutMs: 0 });
    expect(retry.status).toBe(200);
    expect(numbers(retry.body.extensions.to_device.events).slice(0, delivered.length)).toEqual(delivered);
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
    const next = retry.body.extensions.to_device.next_batch as string;
    const acknowledged = await slidingSync(ts.url, me, { pos: retry.body.pos, body: toDeviceBody({ since: next }) });
    expect(acknowledged.status).toBe(200);
    expect(await ts.admin.inspectDevice(me.userId, me.deviceId)).toMatchObject({ deleted: numbers(retry.body.extensions.to_device.events).length });
  });

  it('sliding sync: lists and room_subscriptions are answered minimally and never fail', async () => {
    const me = await register(ts.url);
    const body = {
      lists: { all: { ranges: [[0, 10]], timeline_limit: 1 }, dms: {} },
      room_subscriptions: { '!x:localhost': { timeline_limit: 1 } },
      extensions: { 'org.example.unknown': { enabled: true }, unknown_extension: 42 },
    };
    const response = await slidingSync(ts.url, me, { body });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ pos: expect.any(String), lists: { all: { count: 0 }, dms: { count: 0 } }, rooms: {}, extensions: {} });
    const odd = await slidingSync(ts.url, me, { body: { lists: 'nonsense', room_subscriptions: [1, 2] } });
    expect(odd.status).toBe(200);
  });

  it('sliding sync: the extension disabled gives no to_device answer and acknowledges nothing', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 1);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const since = first.body.extensions.to_device.next_batch;
    const off = await slidingSync(ts.url, me, { body: { extensions: { to_device: { enabled: false, since } } } });
    expect(off.body.extensions).toEqual({});
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
  });
});
