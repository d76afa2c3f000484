// Conformance: the homeserver keeps its own tables bounded without breaking what a client may rely on.
// Transaction IDs stay idempotent within Synapse's windows (30 min for sendToDevice, 24 h for room sends) and
// are forgotten after; a sliding sync connection keeps its last five positions and is forgotten after a week
// unused, and a client told M_UNKNOWN_POS continues the stream on a new connection. The admin retention pass
// runs "as if the clock read" a later time, so no test waits out a window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, numbers, register, sendNumbered, sendToDevice, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

let ts: TestServer;
let sender: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  sender = await register(ts.url, 'SENDER');
});
afterAll(async () => {
  await ts.close();
});

describe('retention of idempotency records', () => {
  it('retention: a sendToDevice txnId is idempotent for 30 minutes, and a new request after that', async () => {
    const me = await register(ts.url);
    const startedMs = Date.now();
    const send = () => sendToDevice(ts.url, sender, { [me.userId]: { [me.deviceId]: { n: 1 } } }, 'org.example.test', 'retained-txn');
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).accepted).toBe(1);
    await ts.admin.runRetention(startedMs + 29 * MINUTE_MS);
    expect((await send()).status).toBe(200);
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).accepted).toBe(1);
    const pruned = await ts.admin.runRetention(Date.now() + 31 * MINUTE_MS);
    expect(pruned.transactions).toBeGreaterThanOrEqual(1);
    expect((await send()).status).toBe(200);
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).accepted).toBe(2);
  });

  it('retention: a room send txnId returns the same event for 24 hours, and sends a new one after that', async () => {
    const me = await register(ts.url);
    const room = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', { token: me.accessToken, body: {} });
    const roomId = encodeURIComponent(room.body.room_id as string);
    const send = () => api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${roomId}/send/m.room.message/day-txn`, { token: me.accessToken, body: { msgtype: 'm.text', body: 'hi' } });
    const startedMs = Date.now();
    const first = (await send()).body.event_id as string;
    await ts.admin.runRetention(startedMs + 23 * 60 * MINUTE_MS);
    expect((await send()).body.event_id).toBe(first);
    await ts.admin.runRetention(Date.now() + 25 * 60 * MINUTE_MS);
    const after = await send();
    expect(after.status).toBe(200);
    expect(after.body.event_id).not.toBe(first);
  });

  it('retention: the retention pass needs the admin token', async () => {
    const me = await register(ts.url);
    const response = await api(ts.url, 'POST', '/_todevice/admin/retention', { token: me.accessToken, body: {} });
    expect(response).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
  });
});

describe('retention of sliding sync connections', () => {
  it('retention: a pos older than the last five of its connection gets M_UNKNOWN_POS; the recent ones still work', async () => {
    const me = await register(ts.url);
    const positions: string[] = [];
    let pos: string | undefined;
    for (let i = 0; i < 7; i += 1) {
      const response = await slidingSync(ts.url, me, { ...(pos === undefined ? {} : { pos }), body: { conn_id: 'main' } });
      expect(response.status).toBe(200);
      pos = response.body.pos as string;
      positions.push(pos);
    }
    expect((await slidingSync(ts.url, me, { pos: positions[0], body: { conn_id: 'main' } })).body.errcode).toBe('M_UNKNOWN_POS');
    expect((await slidingSync(ts.url, me, { pos: positions[1], body: { conn_id: 'main' } })).body.errcode).toBe('M_UNKNOWN_POS');
    // After those two refused requests the connection issued nothing new: the last five it issued still work.
    expect((await slidingSync(ts.url, me, { pos: positions[2], body: { conn_id: 'main' } })).status).toBe(200);
  });

  it('retention: a connection unused for a week is forgotten; its pos gets M_UNKNOWN_POS and a new connection continues the stream', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({ limit: 1 }) });
    const since = first.body.extensions.to_device.next_batch as string;
    const startedMs = Date.now();
    await ts.admin.runRetention(startedMs + 6 * DAY_MS);
    const stillKnown = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ limit: 1 }) });
    expect(stillKnown.status).toBe(200);
    const pruned = await ts.admin.runRetention(Date.now() + 8 * DAY_MS);
    expect(pruned.sliding_sync_connections).toBeGreaterThanOrEqual(1);
    const expired = await slidingSync(ts.url, me, { pos: stillKnown.body.pos, body: toDeviceBody({ since, limit: 1 }) });
    expect(expired).toMatchObject({ status: 400, body: { errcode: 'M_UNKNOWN_POS' } });
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
    const fresh = await slidingSync(ts.url, me, { body: toDeviceBody({ since, limit: 1 }) });
    expect(numbers(fresh.body.extensions.to_device.events)).toEqual([1]);
  });
});
