// Conformance: the MSC3885 to-device extension on simplified sliding sync, against a real homeserver over HTTP.
// Includes Synapse's own to-device cases (no data; initial sync; incremental sync, ack, deletion) and the
// MSC4538 rules (invalid since and limit rejected without deleting anything).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLIDING_SYNC_PATH, SLIDING_SYNC_PATH_MSC3575 } from '../../src/shared/wire';
import {
  login,
  numbers,
  register,
  sendNumbered,
  slidingSync,
  startTestServer,
  toDeviceBody,
  type TestServer,
  type TestUser,
} from './support';

let ts: TestServer;
let sender: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  sender = await register(ts.url, 'SENDER');
});
afterAll(async () => {
  expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
  await ts.close();
});

describe('to-device extension (Synapse cases)', () => {
  it('to-device: no data gives an empty batch with a next_batch', async () => {
    const me = await register(ts.url);
    const response = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(response.status).toBe(200);
    expect(response.body.extensions.to_device.next_batch).toEqual(expect.any(String));
    expect(response.body.extensions.to_device.events ?? []).toEqual([]);
    expect(response.body).toMatchObject({ pos: expect.any(String), lists: {}, rooms: {} });
  });

  it('to-device: initial sync returns queued messages and deletes nothing', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 3);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(numbers(first.body.extensions.to_device.events)).toEqual([0, 1, 2]);
    expect(first.body.extensions.to_device.events[0]).toEqual({ type: 'org.example.test', sender: sender.userId, content: { n: 0 } });
    const again = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(numbers(again.body.extensions.to_device.events)).toEqual([0, 1, 2]);
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
  });

  it('to-device: incremental sync, then ack, then deletion', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const since = first.body.extensions.to_device.next_batch;
    await sendNumbered(ts.url, sender, me, 1, 2);
    const second = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since }) });
    expect(numbers(second.body.extensions.to_device.events)).toEqual([2]);
    const inspection = await ts.admin.inspectDevice(me.userId, me.deviceId);
    expect(inspection.deleted).toBe(2);
    expect(inspection.queued.map((m) => m.content.n)).toEqual([2]);
    // Acknowledged messages are never returned again, even to an initial request (MSC3885).
    const initial = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(numbers(initial.body.extensions.to_device.events)).toEqual([2]);
  });
});

describe('to-device extension (MSC3885 and MSC4538 rules)', () => {
  it('to-device: retry with same since returns the same events first, then newer ones', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const since = first.body.extensions.to_device.next_batch;
    await sendNumbered(ts.url, sender, me, 3, 2);
    const lost = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since, limit: 2 }) });
    expect(numbers(lost.body.extensions.to_device.events)).toEqual([2, 3]);
    await sendNumbered(ts.url, sender, me, 1, 5);
    // limit is sticky on this connection, so the retry raises it explicitly.
    const retry = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since, limit: 10 }) });
    expect(numbers(retry.body.extensions.to_device.events)).toEqual([2, 3, 4, 5]);
  });

  it('to-device: an older since never brings back acknowledged messages', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const oldSince = first.body.extensions.to_device.next_batch;
    const empty = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since: oldSince }) });
    const newSince = empty.body.extensions.to_device.next_batch;
    await sendNumbered(ts.url, sender, me, 1, 2);
    await slidingSync(ts.url, me, { pos: empty.body.pos, body: toDeviceBody({ since: newSince }) });
    const replay = await slidingSync(ts.url, me, { body: toDeviceBody({ since: oldSince }) });
    expect(numbers(replay.body.extensions.to_device.events)).toEqual([2]);
  });

  it('to-device: never more than limit events, and the rest come in order', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 5);
    let since: string | undefined;
    const seen: unknown[] = [];
    for (let round = 0; round < 5 && seen.length < 5; round += 1) {
      const response = await slidingSync(ts.url, me, { body: toDeviceBody(since === undefined ? { limit: 2 } : { limit: 2, since }) });
      expect(response.body.extensions.to_device.events.length).toBeLessThanOrEqual(2);
      seen.push(...numbers(response.body.extensions.to_device.events));
      since = response.body.extensions.to_device.next_batch;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('to-device: a batch is capped at 100 events whatever the limit', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 120);
    const response = await slidingSync(ts.url, me, { body: toDeviceBody({ limit: 1000 }) });
    expect(response.body.extensions.to_device.events).toHaveLength(100);
    const rest = await slidingSync(ts.url, me, { body: toDeviceBody({ since: response.body.extensions.to_device.next_batch }) });
    expect(numbers(rest.body.extensions.to_device.events)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
  });

  it.each([
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ['"5"', '5'],
    ['null-ish string', 'ten'],
  ])('to-device: limit %s gets 400 M_INVALID_PARAM and deletes nothing', async (_label, limit) => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const since = first.body.extensions.to_device.next_batch;
    const response = await slidingSync(ts.url, me, { body: toDeviceBody({ since, limit }) });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe('M_INVALID_PARAM');
    const inspection = await ts.admin.inspectDevice(me.userId, me.deviceId);
    expect(inspection.deleted).toBe(0);
    expect(inspection.queued).toHaveLength(2);
  });

  it('to-device: limit 1 returns exactly one event', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 3);
    const response = await slidingSync(ts.url, me, { body: toDeviceBody({ limit: 1 }) });
    expect(numbers(response.body.extensions.to_device.events)).toEqual([0]);
  });

  it('to-device: garbage, foreign and malformed since get 400 M_INVALID_PARAM and delete nothing', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    await sendNumbered(ts.url, sender, other, 2);
    const mine = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const theirs = await slidingSync(ts.url, other, { body: toDeviceBody({}) });
    const foreign = theirs.body.extensions.to_device.next_batch;
    const myToken: string = mine.body.extensions.to_device.next_batch;
    const forged = myToken.replace(/^\d+/, '999999');
    for (const since of ['garbage', '', foreign, forged, `s${myToken}`, 7]) {
      const response = await slidingSync(ts.url, me, { body: toDeviceBody({ since }) });
      expect(response.status, `since ${String(since)}`).toBe(400);
      expect(response.body.errcode).toBe('M_INVALID_PARAM');
    }
    const inspection = await ts.admin.inspectDevice(me.userId, me.deviceId);
    expect(inspection.deleted).toBe(0);
    expect(inspection.queued).toHaveLength(2);
    expect(inspection.acked_stream_id).toBe(0);
  });

  it('to-device: since acknowledges for this device only, not the same user\'s other devices', async () => {
    const phone = await register(ts.url, 'PHONE');
    const laptop = await login(ts.url, phone, 'LAPTOP');
    await sendNumbered(ts.url, sender, phone, 2);
    await sendNumbered(ts.url, sender, laptop, 2);
    const first = await slidingSync(ts.url, phone, { body: toDeviceBody({}) });
    await slidingSync(ts.url, phone, { body: toDeviceBody({ since: first.body.extensions.to_device.next_batch }) });
    expect((await ts.admin.inspectDevice(phone.userId, 'PHONE')).queued).toHaveLength(0);
    expect((await ts.admin.inspectDevice(phone.userId, 'LAPTOP')).queued).toHaveLength(2);
  });

  it('to-device: per-sender order is kept across interleaved senders', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url, 'OTHER');
    for (let n = 0; n < 5; n += 1) {
      await sendNumbered(ts.url, sender, me, 1, n);
      await sendNumbered(ts.url, other, me, 1, 100 + n);
    }
    const response = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const events: Array<{ sender: string; content: { n: number } }> = response.body.extensions.to_device.events;
    expect(events.filter((e) => e.sender === sender.userId).map((e) => e.content.n)).toEqual([0, 1, 2, 3, 4]);
    expect(events.filter((e) => e.sender === other.userId).map((e) => e.content.n)).toEqual([100, 101, 102, 103, 104]);
  });

  it.each([SLIDING_SYNC_PATH, SLIDING_SYNC_PATH_MSC3575])('to-device: served on %s', async (path) => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 1);
    const response = await slidingSync(ts.url, me, { path, body: toDeviceBody({}) });
    expect(response.status).toBe(200);
    expect(numbers(response.body.extensions.to_device.events)).toEqual([0]);
  });

  it('to-device: answered under org.matrix.msc4538.to_device when the client used that key', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 1);
    const response = await slidingSync(ts.url, me, { body: toDeviceBody({}, 'org.matrix.msc4538.to_device') });
    expect(response.body.extensions.to_device).toBeUndefined();
    expect(numbers(response.body.extensions['org.matrix.msc4538.to_device'].events)).toEqual([0]);
  });

  it('to-device: both keys in one request get one answer under both', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 1);
    const body = { extensions: { to_device: { enabled: true }, 'org.matrix.msc4538.to_device': { enabled: true, limit: 5 } } };
    const response = await slidingSync(ts.url, me, { body });
    expect(response.body.extensions.to_device).toEqual(response.body.extensions['org.matrix.msc4538.to_device']);
    const conflicting = { extensions: { to_device: { enabled: true, limit: 1 }, 'org.matrix.msc4538.to_device': { limit: 2 } } };
    expect((await slidingSync(ts.url, me, { body: conflicting })).body.errcode).toBe('M_INVALID_PARAM');
  });

  it('to-device: enabled and limit are sticky per connection (MSC3885)', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 3);
    const first = await slidingSync(ts.url, me, { body: { conn_id: 'c', extensions: { to_device: { enabled: true, limit: 1 } } } });
    expect(numbers(first.body.extensions.to_device.events)).toEqual([0]);
    const since = first.body.extensions.to_device.next_batch;
    // Only since is sent now: enabled and limit 1 still apply on this connection.
    const second = await slidingSync(ts.url, me, { pos: first.body.pos, body: { conn_id: 'c', extensions: { to_device: { since } } } });
    expect(numbers(second.body.extensions.to_device.events)).toEqual([1]);
    // No extension at all: still enabled, answered under the key used before.
    const third = await slidingSync(ts.url, me, { pos: second.body.pos, body: { conn_id: 'c' } });
    expect(third.body.extensions.to_device.next_batch).toEqual(expect.any(String));
    // A new connection (no pos) starts without the sticky settings.
    const fresh = await slidingSync(ts.url, me, { body: { conn_id: 'c' } });
    expect(fresh.body.extensions.to_device).toBeUndefined();
  });

  it('to-device: a client sending enabled and limit every time works too (Synapse style)', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 3);
    let pos: string | undefined;
    let since: string | undefined;
    const seen: unknown[] = [];
    for (let round = 0; round < 3; round += 1) {
      const ext = since === undefined ? { limit: 1 } : { limit: 1, since };
      const response = await slidingSync(ts.url, me, { pos, body: toDeviceBody(ext) });
      seen.push(...numbers(response.body.extensions.to_device.events));
      pos = response.body.pos;
      since = response.body.extensions.to_device.next_batch;
    }
    expect(seen).toEqual([0, 1, 2]);
  });
});
