// Conformance: one-time key counts, unused fallback key types and device list changes reach the client, through
// the sliding sync e2ee extension (MSC3884) and classic /v3/sync, and /keys/changes. "changed" lists the users
// sharing a room with the caller (and the caller) whose device keys changed after the position the client's
// pos or since token stands for: once per change, again only for a client that retries an older position.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, register, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';
import { claimOne, deviceKeys, e2eeSync, oneTimeKeys, sharedRoom, signedKey, uploadKeys } from './keys-support';

let ts: TestServer;
let claimer: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  claimer = await register(ts.url, 'CLAIMER');
});
afterAll(async () => {
  expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
  await ts.close();
});

const classicSync = (user: TestUser, since?: string, timeoutMs?: number) => {
  const query = new URLSearchParams();
  if (since !== undefined) query.set('since', since);
  if (timeoutMs !== undefined) query.set('timeout', String(timeoutMs));
  return api(ts.url, 'GET', `/_matrix/client/v3/sync?${query.toString()}`, { token: user.accessToken });
};

describe('e2ee extension (MSC3884)', () => {
  it('e2ee: counts go down after a claim, and the unused fallback types follow the fallback key', async () => {
    const me = await register(ts.url);
    const first = await e2eeSync(ts.url, me);
    expect(first.body.extensions.e2ee).toEqual({ device_one_time_keys_count: { signed_curve25519: 0 }, device_unused_fallback_key_types: [] });
    await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 2), fallback_keys: { 'signed_curve25519:F': signedKey(me, { fallback: true }) } });
    const uploaded = await e2eeSync(ts.url, me, first.body.pos);
    expect(uploaded.body.extensions.e2ee).toMatchObject({ device_one_time_keys_count: { signed_curve25519: 2 }, device_unused_fallback_key_types: ['signed_curve25519'] });
    await claimOne(ts.url, claimer, me);
    const claimed = await e2eeSync(ts.url, me, uploaded.body.pos);
    expect(claimed.body.extensions.e2ee.device_one_time_keys_count).toEqual({ signed_curve25519: 1 });
    await claimOne(ts.url, claimer, me);
    await claimOne(ts.url, claimer, me);
    const exhausted = await e2eeSync(ts.url, me, claimed.body.pos);
    expect(exhausted.body.extensions.e2ee).toMatchObject({ device_one_time_keys_count: { signed_curve25519: 0 }, device_unused_fallback_key_types: [] });
  });

  it('e2ee: enabled is sticky per connection, disabled on request, and absent unless asked for', async () => {
    const me = await register(ts.url);
    const plain = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(plain.body.extensions.e2ee).toBeUndefined();
    const on = await e2eeSync(ts.url, me);
    const sticky = await e2eeSync(ts.url, me, on.body.pos, undefined);
    expect(sticky.body.extensions.e2ee.device_one_time_keys_count).toEqual({ signed_curve25519: 0 });
    const off = await e2eeSync(ts.url, me, sticky.body.pos, false);
    expect(off.body.extensions).toEqual({});
    const malformed = await slidingSync(ts.url, me, { body: { extensions: { e2ee: 'yes' } } });
    expect(malformed).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
  });

  it('e2ee: device_lists.changed names a user in a shared room who uploads new device keys, once', async () => {
    const me = await register(ts.url);
    const friend = await register(ts.url);
    const stranger = await register(ts.url);
    await sharedRoom(ts.url, me, [friend]);
    const initial = await e2eeSync(ts.url, me);
    // An initial request has no position to compare with, so no device_lists (as in Synapse).
    expect(initial.body.extensions.e2ee.device_lists).toBeUndefined();
    const quiet = await e2eeSync(ts.url, me, initial.body.pos);
    expect(quiet.body.extensions.e2ee.device_lists).toEqual({ changed: [], left: [] });

    await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
    await uploadKeys(ts.url, stranger, { device_keys: deviceKeys(stranger) });
    const changed = await e2eeSync(ts.url, me, quiet.body.pos);
    expect(changed.body.extensions.e2ee.device_lists).toEqual({ changed: [friend.userId], left: [] });
    const next = await e2eeSync(ts.url, me, changed.body.pos);
    expect(next.body.extensions.e2ee.device_lists).toEqual({ changed: [], left: [] });
    // A client whose response was lost retries with its previous pos and is told again.
    const retried = await e2eeSync(ts.url, me, quiet.body.pos);
    expect(retried.body.extensions.e2ee.device_lists.changed).toEqual([friend.userId]);
  });

  it('e2ee: a user who joins a room is in its members’ changed, and they in the joiner’s (as Synapse)', async () => {
    const me = await register(ts.url);
    const member = await register(ts.url);
    const joiner = await register(ts.url);
    const bystander = await register(ts.url);
    const roomId = await sharedRoom(ts.url, me, [member, joiner], 1);
    await sharedRoom(ts.url, bystander, [joiner]);
    const mine = await e2eeSync(ts.url, me);
    const theirs = await e2eeSync(ts.url, joiner);
    const watching = await e2eeSync(ts.url, bystander);
    const joined = await api(ts.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: joiner.accessToken, body: {} });
    expect(joined.status).toBe(200);
    expect((await e2eeSync(ts.url, me, mine.body.pos)).body.extensions.e2ee.device_lists.changed).toEqual([joiner.userId]);
    expect((await e2eeSync(ts.url, joiner, theirs.body.pos)).body.extensions.e2ee.device_lists.changed).toEqual([me.userId, member.userId].sort());
    // Someone who already shared a room with the joiner learns nothing new.
    expect((await e2eeSync(ts.url, bystander, watching.body.pos)).body.extensions.e2ee.device_lists.changed).toEqual([]);
  });

  it('e2ee: a member who leaves the last room it shared is in device_lists.left, both ways; one still sharing a room is not', async () => {
    const me = await register(ts.url);
    const leaver = await register(ts.url);
    const stayer = await register(ts.url);
    const roomId = await sharedRoom(ts.url, me, [leaver, stayer]);
    // The stayer shares a second room with the leaver, so it keeps tracking its devices.
    await sharedRoom(ts.url, stayer, [leaver]);
    const mine = await e2eeSync(ts.url, me);
    const theirs = await e2eeSync(ts.url, leaver);
    const staying = await e2eeSync(ts.url, stayer);
    const left = await api(ts.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, { token: leaver.accessToken, body: {} });
    expect(left.status).toBe(200);
    expect((await e2eeSync(ts.url, me, mine.body.pos)).body.extensions.e2ee.device_lists).toEqual({ changed: [], left: [leaver.userId] });
    expect((await e2eeSync(ts.url, leaver, theirs.body.pos)).body.extensions.e2ee.device_lists).toEqual({ changed: [], left: [me.userId] });
    expect((await e2eeSync(ts.url, stayer, staying.body.pos)).body.extensions.e2ee.device_lists).toEqual({ changed: [], left: [] });
    // Once, and a key change of someone who left is not reported any more.
    const after = await e2eeSync(ts.url, me, mine.body.pos);
    await uploadKeys(ts.url, leaver, { device_keys: deviceKeys(leaver) });
    expect((await e2eeSync(ts.url, me, after.body.pos)).body.extensions.e2ee.device_lists).toEqual({ changed: [], left: [] });
  });

  it('e2ee: a member who leaves and joins again within one window is only in changed', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    const roomId = await sharedRoom(ts.url, me, [other]);
    const mine = await e2eeSync(ts.url, me);
    const path = (action: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/${action}`;
    expect((await api(ts.url, 'POST', path('leave'), { token: other.accessToken, body: {} })).status).toBe(200);
    expect((await api(ts.url, 'POST', path('invite'), { token: me.accessToken, body: { user_id: other.userId } })).status).toBe(200);
    expect((await api(ts.url, 'POST', path('join'), { token: other.accessToken, body: {} })).status).toBe(200);
    expect((await e2eeSync(ts.url, me, mine.body.pos)).body.extensions.e2ee.device_lists).toEqual({ changed: [other.userId], left: [] });
  });

  it('e2ee: identical re-uploads are not changes; different keys and the caller’s own keys are', async () => {
    const me = await register(ts.url);
    const friend = await register(ts.url);
    await sharedRoom(ts.url, friend, [me]);
    const keys = deviceKeys(friend);
    await uploadKeys(ts.url, friend, { device_keys: keys });
    const start = await e2eeSync(ts.url, me);
    await uploadKeys(ts.url, friend, { device_keys: keys, one_time_keys: oneTimeKeys(friend, 1) });
    const same = await e2eeSync(ts.url, me, start.body.pos);
    expect(same.body.extensions.e2ee.device_lists.changed).toEqual([]);
    await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
    await uploadKeys(ts.url, me, { device_keys: deviceKeys(me) });
    const both = await e2eeSync(ts.url, me, same.body.pos);
    expect(both.body.extensions.e2ee.device_lists.changed).toEqual([me.userId, friend.userId].sort());
  });

  it('e2ee: a long poll with a device list change pending returns at once', async () => {
    const me = await register(ts.url);
    const friend = await register(ts.url);
    await sharedRoom(ts.url, me, [friend]);
    const start = await slidingSync(ts.url, me, { body: { conn_id: 'keys', extensions: { e2ee: { enabled: true }, to_device: { enabled: true } } } });
    await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
    const started = Date.now();
    const polled = await slidingSync(ts.url, me, { pos: start.body.pos, timeoutMs: 20_000, body: { conn_id: 'keys' } });
    expect(polled.body.extensions.e2ee.device_lists.changed).toEqual([friend.userId]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('long polls and key changes', () => {
  it('e2ee: a long poll (with or without to_device) is woken by a device list change made while it waits', async () => {
    for (const extensions of [{ e2ee: { enabled: true }, to_device: { enabled: true } }, { e2ee: { enabled: true } }]) {
      const me = await register(ts.url);
      const friend = await register(ts.url);
      await sharedRoom(ts.url, me, [friend]);
      const start = await slidingSync(ts.url, me, { body: { conn_id: 'keys', extensions } });
      const poll = slidingSync(ts.url, me, { pos: start.body.pos, timeoutMs: 20_000, body: { conn_id: 'keys' } });
      await delay(100);
      const uploadedAt = Date.now();
      await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
      const response = await poll;
      expect(Date.now() - uploadedAt, JSON.stringify(extensions)).toBeLessThan(5_000);
      expect(response.body.extensions.e2ee.device_lists.changed).toEqual([friend.userId]);
    }
  });

  it('classic sync: a long poll is woken by a device list change made while it waits', async () => {
    const me = await register(ts.url);
    const friend = await register(ts.url);
    await sharedRoom(ts.url, me, [friend]);
    const first = await classicSync(me);
    const poll = classicSync(me, first.body.next_batch, 20_000);
    await delay(100);
    const uploadedAt = Date.now();
    await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
    const response = await poll;
    expect(Date.now() - uploadedAt).toBeLessThan(5_000);
    expect(response.body.device_lists.changed).toEqual([friend.userId]);
  });

  it('long poll: not woken by key changes without e2ee, nor by a user sharing no room, nor by one-time keys', async () => {
    const me = await register(ts.url);
    const friend = await register(ts.url);
    const stranger = await register(ts.url);
    await sharedRoom(ts.url, me, [friend]);
    const toDeviceOnly = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const withE2ee = await slidingSync(ts.url, me, { body: { conn_id: 'keys', extensions: { e2ee: { enabled: true }, to_device: { enabled: true } } } });
    const started = Date.now();
    const plainPoll = slidingSync(ts.url, me, { pos: toDeviceOnly.body.pos, timeoutMs: 1500, body: toDeviceBody({}) });
    const e2eePoll = slidingSync(ts.url, me, { pos: withE2ee.body.pos, timeoutMs: 1500, body: { conn_id: 'keys' } });
    await delay(100);
    await uploadKeys(ts.url, stranger, { device_keys: deviceKeys(stranger) });
    await uploadKeys(ts.url, friend, { one_time_keys: oneTimeKeys(friend, 1) });
    await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
    await plainPoll;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    // The e2ee poll was woken by the friend's device keys only (not by the stranger's, nor by one-time keys).
    expect((await e2eePoll).body.extensions.e2ee.device_lists.changed).toEqual([friend.userId]);
  });
});

describe('e2ee fields in classic sync', () => {
  it('classic sync: counts and fallback types on every response, device_lists only when a user changed', async () => {
    const me = await register(ts.url);
    const friend = await register(ts.url);
    await sharedRoom(ts.url, me, [friend]);
    await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 3), fallback_keys: { 'signed_curve25519:F': signedKey(me) } });
    const first = await classicSync(me);
    expect(first.body).toMatchObject({ device_one_time_keys_count: { signed_curve25519: 3 }, device_unused_fallback_key_types: ['signed_curve25519'] });
    expect(first.body.device_lists).toBeUndefined();
    await claimOne(ts.url, claimer, me);
    await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
    const second = await classicSync(me, first.body.next_batch);
    expect(second.body).toMatchObject({ device_one_time_keys_count: { signed_curve25519: 2 }, device_lists: { changed: [friend.userId], left: [] } });
    const third = await classicSync(me, second.body.next_batch);
    expect(third.body.device_lists).toBeUndefined();
    // The old token still stands for the old position: a retry is told again.
    expect((await classicSync(me, first.body.next_batch)).body.device_lists.changed).toEqual([friend.userId]);
  });

  it('classic sync: a member who left the last shared room is in device_lists.left', async () => {
    const me = await register(ts.url);
    const leaver = await register(ts.url);
    const roomId = await sharedRoom(ts.url, me, [leaver]);
    const first = await classicSync(me);
    expect((await api(ts.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, { token: leaver.accessToken, body: {} })).status).toBe(200);
    const second = await classicSync(me, first.body.next_batch);
    expect(second.body.device_lists).toEqual({ changed: [], left: [leaver.userId] });
  });

  it('classic sync: a long poll with a device list change pending returns at once', async () => {
    const me = await register(ts.url);
    const friend = await register(ts.url);
    await sharedRoom(ts.url, me, [friend]);
    const first = await classicSync(me);
    await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
    const started = Date.now();
    const polled = await classicSync(me, first.body.next_batch, 20_000);
    expect(polled.body.device_lists.changed).toEqual([friend.userId]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('keys/changes: users changed after a classic next_batch; a bad or missing from gets 400', async () => {
    const me = await register(ts.url);
    const friend = await register(ts.url);
    await sharedRoom(ts.url, me, [friend]);
    const first = await classicSync(me);
    await uploadKeys(ts.url, friend, { device_keys: deviceKeys(friend) });
    const changes = (from: string) =>
      api(ts.url, 'GET', `/_matrix/client/v3/keys/changes?from=${encodeURIComponent(from)}&to=ignored`, { token: me.accessToken });
    expect(await changes(first.body.next_batch)).toEqual({ status: 200, body: { changed: [friend.userId], left: [] } });
    const later = await classicSync(me, first.body.next_batch);
    expect((await changes(later.body.next_batch)).body).toEqual({ changed: [], left: [] });
    const roomId = await sharedRoom(ts.url, me, [await register(ts.url)]);
    const beforeLeave = await classicSync(me, later.body.next_batch);
    expect((await api(ts.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, { token: me.accessToken, body: {} })).status).toBe(200);
    const parted = (await changes(beforeLeave.body.next_batch)).body;
    expect(parted.changed).toEqual([]);
    expect(parted.left).toHaveLength(1);
    expect(await changes('garbage')).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    const theirs = await classicSync(friend);
    expect(await changes(theirs.body.next_batch)).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    const missing = await api(ts.url, 'GET', '/_matrix/client/v3/keys/changes', { token: me.accessToken });
    expect(missing).toMatchObject({ status: 400, body: { errcode: 'M_MISSING_PARAM' } });
  });
});
