// Conformance: the end-to-end encryption key endpoints (/keys/upload, /keys/query, /keys/claim,
// /keys/signatures/upload) against a real homeserver over HTTP, with Synapse's rules: identical re-uploads
// accepted, a one-time key ID reused with another key refused with Synapse's 400, a refused upload storing
// nothing, claims handing each key out once even when fired in parallel, fallback keys used when none is left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, register, type TestServer, type TestUser, startTestServer, uniqueName } from './support';
import { claimKeys, claimOne, deviceKeys, keyCounts, oneTimeKeys, queryKeys, randomKey, signedKey, uploadKeys } from './keys-support';

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

/** What the server holds for a device, through the public API only. */
async function storedState(user: TestUser) {
  const query = await queryKeys(ts.url, claimer, { [user.userId]: [] });
  const counts = await keyCounts(ts.url, user);
  const sync = await api(ts.url, 'GET', '/_matrix/client/v3/sync', { token: user.accessToken });
  return { devices: query.body.device_keys[user.userId], counts, fallback: sync.body.device_unused_fallback_key_types };
}

describe('keys: upload', () => {
  it('keys: an upload answers the counts per algorithm, always with signed_curve25519', async () => {
    const me = await register(ts.url);
    expect(await uploadKeys(ts.url, me, {})).toMatchObject({ status: 200, body: { one_time_key_counts: { signed_curve25519: 0 } } });
    const both = await uploadKeys(ts.url, me, { one_time_keys: { ...oneTimeKeys(me, 3), 'curve25519:U1': randomKey() } });
    expect(both).toEqual({ status: 200, body: { one_time_key_counts: { signed_curve25519: 3, curve25519: 1 } } });
    const more = await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 2, 'L') });
    expect(more.body.one_time_key_counts).toEqual({ signed_curve25519: 5, curve25519: 1 });
  });

  it('keys: device keys must name the caller (Synapse: 400 M_BAD_JSON) and nothing of the upload is stored', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    const wrongUser = await uploadKeys(ts.url, me, { device_keys: deviceKeys(me, { user_id: other.userId }), one_time_keys: oneTimeKeys(me, 1) });
    expect(wrongUser).toEqual({
      status: 400,
      body: { errcode: 'M_BAD_JSON', error: 'Provided `user_id` in `device_keys` does not match that of the authenticated user' },
    });
    const wrongDevice = await uploadKeys(ts.url, me, { device_keys: deviceKeys(me, { device_id: 'OTHER' }), one_time_keys: oneTimeKeys(me, 1) });
    expect(wrongDevice).toEqual({
      status: 400,
      body: { errcode: 'M_BAD_JSON', error: 'Provided `device_id` in `device_keys` does not match that of the authenticated user device' },
    });
    expect(await storedState(me)).toEqual({ devices: {}, counts: { signed_curve25519: 0 }, fallback: [] });
  });

  it('keys: device keys re-uploaded identically are accepted; different ones replace them (as Synapse)', async () => {
    const me = await register(ts.url);
    const keys = deviceKeys(me);
    expect((await uploadKeys(ts.url, me, { device_keys: keys })).status).toBe(200);
    // Same keys, other key order: canonical JSON makes them the same upload.
    const reordered = Object.fromEntries(Object.entries(keys).reverse());
    expect((await uploadKeys(ts.url, me, { device_keys: reordered })).status).toBe(200);
    expect((await queryKeys(ts.url, claimer, { [me.userId]: [] })).body.device_keys[me.userId]).toEqual({
      [me.deviceId]: { ...keys, unsigned: {} },
    });
    const replaced = deviceKeys(me);
    expect((await uploadKeys(ts.url, me, { device_keys: replaced })).status).toBe(200);
    expect((await queryKeys(ts.url, claimer, { [me.userId]: [] })).body.device_keys[me.userId]).toEqual({
      [me.deviceId]: { ...replaced, unsigned: {} },
    });
  });

  it('keys: a one-time key uploaded again with the same key is accepted, even re-signed', async () => {
    const me = await register(ts.url);
    const keys = oneTimeKeys(me, 2);
    expect((await uploadKeys(ts.url, me, { one_time_keys: keys })).body.one_time_key_counts.signed_curve25519).toBe(2);
    const resigned = Object.fromEntries(
      Object.entries(keys).map(([id, key]) => [id, { ...key, signatures: { [me.userId]: { [`ed25519:${me.deviceId}`]: randomKey() } } }]),
    );
    const again = await uploadKeys(ts.url, me, { one_time_keys: { ...resigned, ...oneTimeKeys(me, 1, 'NEW') } });
    expect(again).toEqual({ status: 200, body: { one_time_key_counts: { signed_curve25519: 3 } } });
  });

  it('keys: a one-time key ID reused with a different key gets Synapse 400 M_UNKNOWN, and the whole upload is refused', async () => {
    const me = await register(ts.url);
    const old = signedKey(me);
    await uploadKeys(ts.url, me, { one_time_keys: { 'signed_curve25519:AAAAAQ': old } });
    const before = await storedState(me);
    const conflicting = signedKey(me);
    const response = await uploadKeys(ts.url, me, {
      device_keys: deviceKeys(me),
      one_time_keys: { 'signed_curve25519:AAAAAA': signedKey(me), 'signed_curve25519:AAAAAQ': conflicting },
      fallback_keys: { 'signed_curve25519:FB': signedKey(me, { fallback: true }) },
    });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe('M_UNKNOWN');
    const canonical = (key: Record<string, unknown>) =>
      JSON.stringify({ key: key.key, signatures: key.signatures });
    expect(response.body.error).toBe(
      `One time key signed_curve25519:AAAAAQ already exists. Old key: ${canonical(old)}; new key: ${canonical(conflicting)}`,
    );
    expect(await storedState(me)).toEqual(before);
    expect(before.counts).toEqual({ signed_curve25519: 1 });
  });

  it('keys: a claimed one-time key ID may be uploaded again with a new key (Synapse compares with stored keys only)', async () => {
    const me = await register(ts.url);
    await uploadKeys(ts.url, me, { one_time_keys: { 'signed_curve25519:AAAAAQ': signedKey(me) } });
    await claimOne(ts.url, claimer, me);
    const reused = await uploadKeys(ts.url, me, { one_time_keys: { 'signed_curve25519:AAAAAQ': signedKey(me) } });
    expect(reused).toEqual({ status: 200, body: { one_time_key_counts: { signed_curve25519: 1 } } });
  });

  it('keys: bad input gets a Matrix error and stores nothing', async () => {
    const me = await register(ts.url);
    await uploadKeys(ts.url, me, { device_keys: deviceKeys(me), one_time_keys: oneTimeKeys(me, 1, 'OLD') });
    const before = await storedState(me);
    const valid = { device_keys: deviceKeys(me), one_time_keys: oneTimeKeys(me, 2, 'GOOD'), fallback_keys: { 'signed_curve25519:FB': signedKey(me, { fallback: true }) } };
    const withDeviceKeys = (changes: Record<string, unknown>) => ({ ...valid, device_keys: { ...valid.device_keys, ...changes } });
    const withOneTimeKey = (name: string, key: unknown) => ({ ...valid, one_time_keys: { ...valid.one_time_keys, [name]: key } });
    const { signatures: _signatures, ...unsignedKey } = signedKey(me);
    const cases: Array<[string, unknown, number, string]> = [
      ['device_keys null', { ...valid, device_keys: null }, 400, 'M_INVALID_PARAM'],
      ['device_keys not an object', { ...valid, device_keys: 'x' }, 400, 'M_BAD_JSON'],
      ['device_keys without signatures', withDeviceKeys({ signatures: undefined }), 400, 'M_MISSING_PARAM'],
      ['device_keys without algorithms', withDeviceKeys({ algorithms: undefined }), 400, 'M_MISSING_PARAM'],
      ['a non-string device key', withDeviceKeys({ keys: { [`ed25519:${me.deviceId}`]: 5 } }), 400, 'M_BAD_JSON'],
      ['a non-string algorithm', withDeviceKeys({ algorithms: [1] }), 400, 'M_BAD_JSON'],
      ['signatures of the wrong shape', withDeviceKeys({ signatures: { [me.userId]: 'x' } }), 400, 'M_BAD_JSON'],
      ['one_time_keys not an object', { ...valid, one_time_keys: [1] }, 400, 'M_BAD_JSON'],
      ['a key ID without a colon', withOneTimeKey('signed_curve25519AAAA', signedKey(me)), 400, 'M_BAD_JSON'],
      ['a key ID with two colons', withOneTimeKey('signed_curve25519:A:B', signedKey(me)), 400, 'M_BAD_JSON'],
      ['an empty key ID', withOneTimeKey('signed_curve25519:', signedKey(me)), 400, 'M_INVALID_PARAM'],
      ['an unknown algorithm', withOneTimeKey('rot13_curve25519:A', signedKey(me)), 400, 'M_INVALID_PARAM'],
      ['a signed key given as a string', withOneTimeKey('signed_curve25519:S', randomKey()), 400, 'M_BAD_JSON'],
      ['an unsigned key given as an object', withOneTimeKey('curve25519:S', signedKey(me)), 400, 'M_BAD_JSON'],
      ['a signed key without signatures', withOneTimeKey('signed_curve25519:S', unsignedKey), 400, 'M_MISSING_PARAM'],
      ['a signed key with a non-string key', withOneTimeKey('signed_curve25519:S', { ...signedKey(me), key: 7 }), 400, 'M_BAD_JSON'],
      ['a non-boolean fallback flag', withOneTimeKey('signed_curve25519:S', signedKey(me, { fallback: 'yes' })), 400, 'M_BAD_JSON'],
      ['two fallback keys of one algorithm', { ...valid, fallback_keys: { 'signed_curve25519:F1': signedKey(me), 'signed_curve25519:F2': signedKey(me) } }, 400, 'M_INVALID_PARAM'],
      ['an unknown fallback algorithm', { ...valid, fallback_keys: { 'x25519:F1': signedKey(me) } }, 400, 'M_INVALID_PARAM'],
      ['201 one-time keys in one upload', { ...valid, one_time_keys: oneTimeKeys(me, 201, 'MANY') }, 413, 'M_TOO_LARGE'],
      ['an oversized key object', withOneTimeKey('signed_curve25519:BIG', signedKey(me, { pad: 'x'.repeat(5000) })), 413, 'M_TOO_LARGE'],
      ['a body that is not an object', [valid], 400, 'M_BAD_JSON'],
    ];
    for (const [name, body, status, errcode] of cases) {
      const response = await uploadKeys(ts.url, me, body);
      expect({ name, status: response.status, errcode: response.body.errcode }).toEqual({ name, status, errcode });
      expect(typeof response.body.error, name).toBe('string');
    }
    expect(await storedState(me)).toEqual(before);
    // The valid body itself is accepted, so each case failed for its own flaw.
    expect((await uploadKeys(ts.url, me, valid)).status).toBe(200);
  });

  it('keys: a device holds at most 1000 one-time keys; the upload that would pass it stores nothing', async () => {
    const me = await register(ts.url);
    for (let batch = 0; batch < 5; batch += 1) {
      const response = await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 200, `B${batch}_`) });
      expect(response.status).toBe(200);
    }
    const over = await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 1, 'OVER'), fallback_keys: { 'signed_curve25519:F': signedKey(me) } });
    expect(over).toMatchObject({ status: 413, body: { errcode: 'M_TOO_LARGE' } });
    expect(await storedState(me)).toMatchObject({ counts: { signed_curve25519: 1000 }, fallback: [] });
  });
});

describe('keys: query', () => {
  it('keys: query answers device keys per user ([] for all devices) with empty failures and cross-signing maps', async () => {
    const me = await register(ts.url, 'PHONE');
    const phone = deviceKeys(me);
    await uploadKeys(ts.url, me, { device_keys: phone });
    const laptopLogin = await api(ts.url, 'POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: me.userId }, password: me.password, device_id: 'LAPTOP', initial_device_display_name: 'My laptop' },
    });
    const laptop: TestUser = { ...me, deviceId: 'LAPTOP', accessToken: laptopLogin.body.access_token };
    const laptopKeys = deviceKeys(laptop);
    await uploadKeys(ts.url, laptop, { device_keys: laptopKeys });
    await login3rdDeviceWithoutKeys(me);

    const all = await queryKeys(ts.url, claimer, { [me.userId]: [] });
    expect(all).toEqual({
      status: 200,
      body: {
        device_keys: {
          [me.userId]: {
            PHONE: { ...phone, unsigned: {} },
            LAPTOP: { ...laptopKeys, unsigned: { device_display_name: 'My laptop' } },
          },
        },
        failures: {},
        master_keys: {},
        self_signing_keys: {},
        user_signing_keys: {},
      },
    });
    const one = await queryKeys(ts.url, claimer, { [me.userId]: ['LAPTOP', 'NOKEYS', 'MISSING'] });
    expect(Object.keys(one.body.device_keys[me.userId])).toEqual(['LAPTOP']);
  });

  it('keys: a local user without keys maps to {} (Synapse), invalid and remote users are left out', async () => {
    const query = await queryKeys(ts.url, claimer, { [`@${uniqueName('ghost')}:localhost`]: [], 'not-a-user': [], '@bob:elsewhere.example': [] });
    expect(query.status).toBe(200);
    expect(Object.values(query.body.device_keys)).toEqual([{}]);
    expect(Object.keys(query.body.device_keys)[0]).toMatch(/^@ghost/);
  });

  it('keys: malformed queries get Synapse 400 M_BAD_JSON', async () => {
    for (const body of [{}, { device_keys: [] }, { device_keys: { [claimer.userId]: 'x' } }, { device_keys: { [claimer.userId]: [1] } }]) {
      const response = await api(ts.url, 'POST', '/_matrix/client/v3/keys/query', { token: claimer.accessToken, body });
      expect(response, JSON.stringify(body)).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    }
  });
});

async function login3rdDeviceWithoutKeys(user: TestUser): Promise<void> {
  await api(ts.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: user.password, device_id: 'NOKEYS' },
  });
}

describe('keys: claim', () => {
  it('keys: a claim hands out one key per device, oldest first, and removes it', async () => {
    const me = await register(ts.url);
    const keys = oneTimeKeys(me, 3);
    await uploadKeys(ts.url, me, { one_time_keys: keys });
    const first = await claimKeys(ts.url, claimer, { [me.userId]: { [me.deviceId]: 'signed_curve25519' } });
    expect(first).toEqual({
      status: 200,
      body: { one_time_keys: { [me.userId]: { [me.deviceId]: { 'signed_curve25519:K0': keys['signed_curve25519:K0'] } } }, failures: {} },
    });
    expect(Object.keys(await claimOne(ts.url, claimer, me))).toEqual(['signed_curve25519:K1']);
    expect(await keyCounts(ts.url, me)).toEqual({ signed_curve25519: 1 });
  });

  it('keys: devices with no key to give are absent; malformed claims get 400', async () => {
    const me = await register(ts.url);
    const empty = await claimKeys(ts.url, claimer, { [me.userId]: { [me.deviceId]: 'signed_curve25519', NOPE: 'signed_curve25519' }, '@x:elsewhere.example': { D: 'signed_curve25519' } });
    expect(empty).toEqual({ status: 200, body: { one_time_keys: {}, failures: {} } });
    for (const wanted of [[], { [me.userId]: 'x' }, { [me.userId]: { [me.deviceId]: 5 } }]) {
      const response = await api(ts.url, 'POST', '/_matrix/client/v3/keys/claim', { token: claimer.accessToken, body: { one_time_keys: wanted } });
      expect(response, JSON.stringify(wanted)).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    }
  });

  it('keys: many claims fired in parallel never get the same one-time key; the rest get the fallback key', async () => {
    const me = await register(ts.url);
    await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 40), fallback_keys: { 'signed_curve25519:FALLBACK': signedKey(me, { fallback: true }) } });
    const claimers = await Promise.all(Array.from({ length: 4 }, (_, n) => register(ts.url, `C${n}`)));
    const results = await Promise.all(Array.from({ length: 60 }, (_, n) => claimOne(ts.url, claimers[n % claimers.length] as TestUser, me)));
    const ids = results.map((keys) => Object.keys(keys));
    expect(ids.every((one) => one.length === 1)).toBe(true);
    const oneTime = ids.flat().filter((id) => id !== 'signed_curve25519:FALLBACK');
    expect(new Set(oneTime).size).toBe(40);
    expect(oneTime.length).toBe(40);
    expect(ids.flat().filter((id) => id === 'signed_curve25519:FALLBACK').length).toBe(20);
    expect(await keyCounts(ts.url, me)).toEqual({ signed_curve25519: 0 });
  });
});

describe('keys: hostile names', () => {
  it('keys: a device named "__proto__" is an ordinary device for query and claim', async () => {
    const me = await register(ts.url, '__proto__');
    const keys = deviceKeys(me);
    const oneTime = oneTimeKeys(me, 1);
    await uploadKeys(ts.url, me, { device_keys: keys, one_time_keys: oneTime });
    const query = await queryKeys(ts.url, claimer, { [me.userId]: [] });
    expect(Object.keys(query.body.device_keys[me.userId])).toEqual(['__proto__']);
    expect(query.body.device_keys[me.userId]['__proto__']).toEqual({ ...keys, unsigned: {} });
    const claim = await claimKeys(ts.url, claimer, { [me.userId]: Object.fromEntries([['__proto__', 'signed_curve25519']]) });
    expect(Object.keys(claim.body.one_time_keys[me.userId])).toEqual(['__proto__']);
    expect(claim.body.one_time_keys[me.userId]['__proto__']).toEqual(oneTime);
    // The server's own objects were not touched: a fresh claim of nothing answers plainly.
    expect((await claimKeys(ts.url, claimer, {})).body).toEqual({ one_time_keys: {}, failures: {} });
  });
});

describe('keys: fallback keys', () => {
  it('keys: one fallback key per algorithm; claimed when none is left and then used; replaced by a new one', async () => {
    const me = await register(ts.url);
    const first = signedKey(me, { fallback: true });
    await uploadKeys(ts.url, me, { fallback_keys: { 'signed_curve25519:F1': first } });
    expect((await storedState(me)).fallback).toEqual(['signed_curve25519']);
    expect(await claimOne(ts.url, claimer, me)).toEqual({ 'signed_curve25519:F1': first });
    expect((await storedState(me)).fallback).toEqual([]);
    // A used fallback key keeps being handed out until it is replaced (the spec: it is not deleted).
    expect(await claimOne(ts.url, claimer, me)).toEqual({ 'signed_curve25519:F1': first });
    // The same key again changes nothing: it stays used (Synapse _set_e2e_fallback_keys_txn).
    await uploadKeys(ts.url, me, { fallback_keys: { 'signed_curve25519:F1': first } });
    expect((await storedState(me)).fallback).toEqual([]);
    const second = signedKey(me, { fallback: true });
    await uploadKeys(ts.url, me, { fallback_keys: { 'signed_curve25519:F2': second } });
    expect((await storedState(me)).fallback).toEqual(['signed_curve25519']);
    expect(await claimOne(ts.url, claimer, me)).toEqual({ 'signed_curve25519:F2': second });
  });

  it('keys: a one-time key goes out before the fallback key, which stays unused', async () => {
    const me = await register(ts.url);
    await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 1), fallback_keys: { 'signed_curve25519:F': signedKey(me, { fallback: true }) } });
    expect(Object.keys(await claimOne(ts.url, claimer, me))).toEqual(['signed_curve25519:K0']);
    expect((await storedState(me)).fallback).toEqual(['signed_curve25519']);
  });
});

describe('keys: signatures upload', () => {
  it('keys: with no cross-signing keys stored, each signature fails as Synapse reports it, and the request completes', async () => {
    const me = await register(ts.url);
    const empty = await api(ts.url, 'POST', '/_matrix/client/v3/keys/signatures/upload', { token: me.accessToken, body: {} });
    expect(empty).toEqual({ status: 200, body: { failures: {} } });
    const signed = await api(ts.url, 'POST', '/_matrix/client/v3/keys/signatures/upload', {
      token: me.accessToken,
      body: { [me.userId]: { [me.deviceId]: deviceKeys(me) }, [claimer.userId]: { MASTERKEY: {} } },
    });
    expect(signed).toEqual({
      status: 200,
      body: {
        failures: {
          [me.userId]: { [me.deviceId]: { status: 404, errcode: 'M_NOT_FOUND', message: `No self_signing key found for ${me.userId}` } },
          [claimer.userId]: { MASTERKEY: { status: 404, errcode: 'M_NOT_FOUND', message: `No user_signing key found for ${me.userId}` } },
        },
      },
    });
    const bad = await api(ts.url, 'POST', '/_matrix/client/v3/keys/signatures/upload', { token: me.accessToken, body: { [me.userId]: 'x' } });
    expect(bad).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  });

  it('keys: every key endpoint needs an access token', async () => {
    for (const path of ['upload', 'query', 'claim', 'signatures/upload']) {
      const response = await api(ts.url, 'POST', `/_matrix/client/v3/keys/${path}`, { body: {} });
      expect(response.body.errcode, path).toBe('M_MISSING_TOKEN');
    }
    expect((await api(ts.url, 'GET', '/_matrix/client/v3/keys/changes?from=s0_0_0000000000')).body.errcode).toBe('M_MISSING_TOKEN');
  });
});
