// Conformance: classic GET /v3/sync with Synapse's implicit acknowledgement, sharing the device's queue with
// the to-device extension, which is what lets the harness show the old race (DESIGN.md F1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, login, numbers, register, sendNumbered, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';

let ts: TestServer;
let sender: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  sender = await register(ts.url, 'SENDER');
});
afterAll(async () => {
  await ts.close();
});

const sync = (user: TestUser, since?: string) =>
  api(ts.url, 'GET', `/_matrix/client/v3/sync${since === undefined ? '' : `?since=${encodeURIComponent(since)}`}`, { token: user.accessToken });

describe('classic sync', () => {
  it('classic sync: returns the response shape with to_device events and rooms', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const response = await sync(me);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      next_batch: expect.stringMatching(/^s\d+_\d+_[0-9a-f]{10}$/),
      to_device: { events: [expect.objectContaining({ content: { n: 0 } }), expect.objectContaining({ content: { n: 1 } })] },
      rooms: { join: {}, invite: {}, leave: {} },
      device_one_time_keys_count: { signed_curve25519: 0 },
      device_unused_fallback_key_types: [],
    });
  });

  it('classic sync: advancing since acknowledges implicitly and deletes', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const first = await sync(me);
    await sendNumbered(ts.url, sender, me, 1, 2);
    const second = await sync(me, first.body.next_batch);
    expect(numbers(second.body.to_device.events)).toEqual([2]);
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(2);
  });

  it('classic sync: a second process of the device acknowledges what the first never saw (the old race, F1)', async () => {
    const main = await register(ts.url, 'PHONE');
    const notifier = await login(ts.url, main, 'PHONE');
    const mainFirst = await sync(main);
    await sendNumbered(ts.url, sender, main, 1);
    // The notifier keeps its own sync token: it receives message 0, then advances past it.
    const notifierFirst = await sync(notifier);
    expect(numbers(notifierFirst.body.to_device.events)).toEqual([0]);
    await sync(notifier, notifierFirst.body.next_batch);
    // Main never saw message 0, and now never will.
    const mainSecond = await sync(main, mainFirst.body.next_batch);
    expect(mainSecond.body.to_device.events).toEqual([]);
  });

  it('classic sync: shares the device queue with the to-device extension', async () => {
    const me = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 2);
    const classic = await sync(me);
    await sync(me, classic.body.next_batch);
    const extension = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(extension.body.extensions.to_device.events).toEqual([]);
  });

  it('classic sync: garbage, foreign and extension-shaped since tokens get 400 M_INVALID_PARAM', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    await sendNumbered(ts.url, sender, me, 1);
    const theirs = await sync(other);
    const extension = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    for (const since of ['garbage', theirs.body.next_batch, extension.body.extensions.to_device.next_batch, 's99999_0000000000']) {
      const response = await sync(me, since);
      expect(response.status, since).toBe(400);
      expect(response.body.errcode).toBe('M_INVALID_PARAM');
    }
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
  });
});
