// Conformance: key state survives a restart on the same database file: device keys, one-time keys, the used
// flag of a fallback key, and the device list positions that a sliding sync pos and a classic since token stand
// for; a token from the future (database restored from an older copy) is refused.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, register, startTestServer, type TestUser } from './support';
import { claimOne, deviceKeys, e2eeSync, oneTimeKeys, queryKeys, sharedRoom, signedKey, uploadKeys } from './keys-support';

const dir = mkdtempSync(join(tmpdir(), 'todevice-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const classicSync = (baseUrl: string, user: TestUser, since?: string) =>
  api(baseUrl, 'GET', `/_matrix/client/v3/sync${since === undefined ? '' : `?since=${encodeURIComponent(since)}`}`, { token: user.accessToken });

describe('keys persistence', () => {
  it('restart: keys, counts, a used fallback key and device list positions survive a restart', async () => {
    const dbPath = join(dir, 'keys.db');
    let ts = await startTestServer({ dbPath });
    const me = await register(ts.url, 'PHONE');
    const friend = await register(ts.url, 'FRIEND');
    await sharedRoom(ts.url, me, [friend]);
    const myKeys = deviceKeys(me);
    const fallback = signedKey(me, { fallback: true });
    await uploadKeys(ts.url, me, { device_keys: myKeys, one_time_keys: oneTimeKeys(me, 2), fallback_keys: { 'signed_curve25519:F': fallback } });
    await claimOne(ts.url, friend, me);
    await claimOne(ts.url, friend, me);
    await claimOne(ts.url, friend, me);
    const sliding = await e2eeSync(ts.url, me);
    const classic = await classicSync(ts.url, me);
    const friendKeys = deviceKeys(friend);
    await uploadKeys(ts.url, friend, { device_keys: friendKeys });
    await ts.close();

    ts = await startTestServer({ dbPath });
    try {
      expect((await queryKeys(ts.url, friend, { [me.userId]: [] })).body.device_keys[me.userId]).toEqual({ PHONE: { ...myKeys, unsigned: {} } });
      const after = await e2eeSync(ts.url, me, sliding.body.pos);
      expect(after.body.extensions.e2ee).toEqual({
        device_one_time_keys_count: { signed_curve25519: 0 },
        device_unused_fallback_key_types: [],
        device_lists: { changed: [friend.userId], left: [] },
      });
      expect((await classicSync(ts.url, me, classic.body.next_batch)).body.device_lists).toEqual({ changed: [friend.userId], left: [] });
      // The used fallback key is still handed out, and re-uploading it does not make it unused.
      expect(await claimOne(ts.url, friend, me)).toEqual({ 'signed_curve25519:F': fallback });
      await uploadKeys(ts.url, me, { fallback_keys: { 'signed_curve25519:F': fallback } });
      expect((await e2eeSync(ts.url, me)).body.extensions.e2ee.device_unused_fallback_key_types).toEqual([]);
    } finally {
      await ts.close();
    }
  });

  it('restart: a classic since whose device list position is from the future gets 400', async () => {
    const dbPath = join(dir, 'future.db');
    const backup = join(dir, 'future-backup.db');
    let ts = await startTestServer({ dbPath });
    const me = await register(ts.url, 'PHONE');
    const first = await classicSync(ts.url, me);
    await ts.close();
    copyFileSync(dbPath, backup);

    ts = await startTestServer({ dbPath });
    await uploadKeys(ts.url, me, { device_keys: deviceKeys(me) });
    const ahead = await classicSync(ts.url, me, first.body.next_batch);
    await ts.close();

    copyFileSync(backup, dbPath);
    rmSync(`${dbPath}-wal`, { force: true });
    rmSync(`${dbPath}-shm`, { force: true });
    ts = await startTestServer({ dbPath });
    try {
      const response = await classicSync(ts.url, me, ahead.body.next_batch);
      expect(response).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
      expect((await classicSync(ts.url, me, first.body.next_batch)).status).toBe(200);
    } finally {
      await ts.close();
    }
  });
});
