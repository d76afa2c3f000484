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
