// Conformance: fault injection and the inspection oracle on the admin surface.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/homeserver/admin-client';
import { api, numbers, register, sendNumbered, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';

let ts: TestServer;
let sender: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  sender = await register(ts.url, 'SENDER');
});
afterAll(async () => {
  await ts.close();
});

async function primed(me: TestUser, count: number): Promise<{ pos: string; since: string }> {
  await sendNumbered(ts.url, sender, me, count);
  const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
  return { pos: first.body.pos, since: first.body.extensions.to_device.next_batch };
}

describe('faults', () => {
  it('faults: drop-response acknowledges, then resets the connection; the retry gets the same events', async () => {
    const me = await register(ts.url);
    const { pos, since } = await primed(me, 2);
    await sendNumbered(ts.url, sender, me, 2, 2);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'drop-response', count: 1 });
    await expect(slidingSync(ts.url, me, { pos, body: toDeviceBody({ since }) })).rejects.toThrow();
    const afterDrop = await ts.admin.inspectDevice(me.userId, me.deviceId);
    expect(afterDrop.deleted).toBe(2);
    expect(afterDrop.delivered).toBe(4);
    const retry = await slidingSync(ts.url, me, { pos, body: toDeviceBody({ since }) });
    expect(numbers(retry.body.extensions.to_device.events)).toEqual([2, 3]);
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).delivered).toBe(6);
  });

  it('faults: drop-response counts requests exactly and applies to classic /v3/sync too', async () => {
    const me = await register(ts.url);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'drop-response', count: 2 });
    await expect(api(ts.url, 'GET', '/_matrix/client/v3/sync', { token: me.accessToken })).rejects.toThrow();
    await expect(slidingSync(ts.url, me, { body: toDeviceBody({}) })).rejects.toThrow();
    expect((await slidingSync(ts.url, me, { body: toDeviceBody({}) })).status).toBe(200);
  });

  it('faults: a room-list-only sliding sync request spends no sync fault; one that can deliver to-device does', async () => {
    const me = await register(ts.url);
    const roomList = { conn_id: 'rooms', lists: { all: { ranges: [[0, 9]], timeline_limit: 0 } } };
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'error', count: 1, status: 500 });
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'drop-response', count: 1 });
    // A new room-list connection, and the same connection continued from its pos: both served, faults kept.
    const first = await slidingSync(ts.url, me, { body: roomList });
    expect(first.status).toBe(200);
    expect((await slidingSync(ts.url, me, { pos: first.body.pos, timeoutMs: 0, body: roomList })).status).toBe(200);
    const mine = async (): Promise<string[]> => (await ts.admin.listFaults()).filter((f) => f.user_id === me.userId).map((f) => f.fault.kind);
    expect(await mine()).toEqual(['error', 'drop-response']);
    // Lists with the to-device extension, or on a connection where it is sticky, are the device's to-device sync.
    await expect(slidingSync(ts.url, me, { body: { ...toDeviceBody({}), lists: roomList.lists } })).resolves.toMatchObject({ status: 500 });
    await expect(slidingSync(ts.url, me, { body: { ...toDeviceBody({}), lists: roomList.lists } })).rejects.toThrow();
    const sticky = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'error', count: 1, status: 500 });
    const listsOnSticky = await slidingSync(ts.url, me, { pos: sticky.body.pos, timeoutMs: 0, body: { conn_id: 'main', lists: roomList.lists } });
    expect(listsOnSticky.status).toBe(500);
    expect(await mine()).toEqual([]);
  });

  it('faults: delay holds the response back', async () => {
    const me = await register(ts.url);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'delay', count: 1, delay_ms: 600 });
    const started = Date.now();
    expect((await slidingSync(ts.url, me, { body: toDeviceBody({}) })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(580);
    const quick = Date.now();
    await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(Date.now() - quick).toBeLessThan(500);
  });

  it('faults: error 429 carries retry_after_ms and acknowledges nothing', async () => {
    const me = await register(ts.url);
    const { pos, since } = await primed(me, 2);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'error', count: 1, status: 429, retry_after_ms: 1234 });
    const limited = await slidingSync(ts.url, me, { pos, body: toDeviceBody({ since }) });
    expect(limited).toMatchObject({ status: 429, body: { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1234 } });
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
  });

  it('faults: error 500 on classic sync, then normal service', async () => {
    const me = await register(ts.url);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'error', count: 1, status: 500 });
    const failed = await api(ts.url, 'GET', '/_matrix/client/v3/sync', { token: me.accessToken });
    expect(failed).toMatchObject({ status: 500, body: { errcode: 'M_UNKNOWN' } });
    expect((await api(ts.url, 'GET', '/_matrix/client/v3/sync', { token: me.accessToken })).status).toBe(200);
  });

  it('faults: faults are per device, and DELETE clears them all', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'error', count: 5, status: 500 });
    expect((await slidingSync(ts.url, other, { body: toDeviceBody({}) })).status).toBe(200);
    expect(await ts.admin.listFaults()).toEqual([{ user_id: me.userId, device_id: me.deviceId, fault: { kind: 'error', count: 5, status: 500 } }]);
    await ts.admin.clearFaults();
    expect((await slidingSync(ts.url, me, { body: toDeviceBody({}) })).status).toBe(200);
  });

  it('faults: the admin surface refuses ordinary access tokens and malformed faults', async () => {
    const me = await register(ts.url);
    const path = '/_todevice/admin/faults';
    expect((await api(ts.url, 'DELETE', path)).body.errcode).toBe('M_MISSING_TOKEN');
    expect(await api(ts.url, 'DELETE', path, { token: me.accessToken })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    const userAdmin = new AdminClient(ts.url, me.accessToken);
    await expect(userAdmin.inspectDevice(me.userId, me.deviceId)).rejects.toMatchObject({ status: 403 });
    for (const fault of [{ kind: 'drop-response', count: 0 }, { kind: 'error', count: 1, status: 418 }, { kind: 'explode' }, 'x']) {
      const response = await api(ts.url, 'POST', path, { token: ts.server.adminToken, body: { user_id: me.userId, device_id: me.deviceId, fault } });
      expect(response.status, JSON.stringify(fault)).toBe(400);
    }
    await expect(ts.admin.inspectDevice('@nobody:localhost', 'X')).rejects.toMatchObject({ status: 404 });
  });

  it('inspection: counts accepted, delivered (redeliveries again) and deleted messages', async () => {
    const me = await register(ts.url);
    const { since } = await primed(me, 3);
    await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    let inspection = await ts.admin.inspectDevice(me.userId, me.deviceId);
    expect(inspection).toMatchObject({ user_id: me.userId, device_id: me.deviceId, accepted: 3, delivered: 6, deleted: 0, acked_stream_id: 0 });
    expect(inspection.queued.map((m) => [m.type, m.sender, m.content])).toEqual([0, 1, 2].map((n) => ['org.example.test', sender.userId, { n }]));
    await slidingSync(ts.url, me, { body: toDeviceBody({ since }) });
    inspection = await ts.admin.inspectDevice(me.userId, me.deviceId);
    expect(inspection).toMatchObject({ accepted: 3, delivered: 6, deleted: 3, queued: [] });
    expect(inspection.acked_stream_id).toBeGreaterThan(0);
  });

  it('inspection: waiting_polls counts the long polls in flight for the device, until a message answers them', async () => {
    const me = await register(ts.url);
    const { pos, since } = await primed(me, 0);
    const waitingPolls = async (): Promise<number> => (await ts.admin.inspectDevice(me.userId, me.deviceId)).waiting_polls;
    expect(await waitingPolls()).toBe(0);
    const poll = slidingSync(ts.url, me, { pos, timeoutMs: 30_000, body: toDeviceBody({ since }) });
    await expect.poll(waitingPolls).toBe(1);
    // Another device's message does not answer it.
    const other = await register(ts.url);
    await sendNumbered(ts.url, sender, other, 1);
    expect(await waitingPolls()).toBe(1);
    await sendNumbered(ts.url, sender, me, 1);
    expect(numbers((await poll).body.extensions.to_device.events)).toEqual([0]);
    expect(await waitingPolls()).toBe(0);
  });
});
