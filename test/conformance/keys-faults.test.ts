// Conformance: admin-surface faults addressed to the key endpoints. A dropped /keys/upload response has stored
// the keys (complement-crypto's duplicate one-time key case: the retry with the same keys is accepted, a retry
// with regenerated keys under the same IDs gets Synapse's 400); a held one is stored before it is answered; an
// error fault stores nothing; faults of one endpoint leave the others alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, register, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';
import { claimOne, deviceKeys, keyCounts, oneTimeKeys, queryKeys, signedKey, uploadKeys } from './keys-support';

let ts: TestServer;
let claimer: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  claimer = await register(ts.url, 'CLAIMER');
});
afterAll(async () => {
  await ts.close();
});

/** Polls `check` until it returns true; generous, since the machine may be loaded. */
async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('faults on /keys/upload', () => {
  it('faults: a dropped /keys/upload stored the keys; the same retry is accepted, regenerated keys under the same IDs get 400', async () => {
    const me = await register(ts.url);
    const body = { device_keys: deviceKeys(me), one_time_keys: oneTimeKeys(me, 5), fallback_keys: { 'signed_curve25519:F': signedKey(me, { fallback: true }) } };
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'drop-response', count: 1, endpoint: 'keys/upload' });
    await expect(uploadKeys(ts.url, me, body)).rejects.toThrow();
    expect(await keyCounts(ts.url, me)).toEqual({ signed_curve25519: 5 });
    expect(Object.keys((await queryKeys(ts.url, claimer, { [me.userId]: [] })).body.device_keys[me.userId])).toEqual([me.deviceId]);

    const retry = await uploadKeys(ts.url, me, body);
    expect(retry).toEqual({ status: 200, body: { one_time_key_counts: { signed_curve25519: 5 } } });
    const regenerated = await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 5) });
    expect(regenerated.status).toBe(400);
    expect(regenerated.body.errcode).toBe('M_UNKNOWN');
    expect(regenerated.body.error).toMatch(/^One time key signed_curve25519:K\d already exists\. Old key: \{.*\}; new key: \{.*\}$/);
  });

  it('faults: a held /keys/upload response comes after N ms, and its keys are claimable before it arrives', async () => {
    const me = await register(ts.url);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'delay', count: 1, delay_ms: 1500, endpoint: 'keys/upload' });
    const started = Date.now();
    let answered = false;
    const held = uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 3) }).finally(() => (answered = true));
    let claimed: Record<string, unknown> = {};
    await waitFor(async () => {
      claimed = await claimOne(ts.url, claimer, me);
      return Object.keys(claimed).length > 0;
    }, 'the held upload to be stored');
    expect(answered).toBe(false);
    expect(Object.keys(claimed)).toEqual(['signed_curve25519:K0']);
    const response = await held;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1450);
    // The count in the answer is computed in the upload's transaction, before the claim.
    expect(response).toEqual({ status: 200, body: { one_time_key_counts: { signed_curve25519: 3 } } });
    const quick = Date.now();
    await uploadKeys(ts.url, me, {});
    expect(Date.now() - quick).toBeLessThan(1000);
  });

  it('faults: an error fault on /keys/upload answers before anything is stored', async () => {
    const me = await register(ts.url);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'error', count: 1, status: 500, endpoint: 'keys/upload' });
    const failed = await uploadKeys(ts.url, me, { device_keys: deviceKeys(me), one_time_keys: oneTimeKeys(me, 2) });
    expect(failed).toMatchObject({ status: 500, body: { errcode: 'M_UNKNOWN' } });
    expect(await keyCounts(ts.url, me)).toEqual({ signed_curve25519: 0 });
    expect((await queryKeys(ts.url, claimer, { [me.userId]: [] })).body.device_keys[me.userId]).toEqual({});
  });

  it('faults: a /keys/upload fault leaves sync alone, a sync fault leaves /keys/upload alone, and both are listed', async () => {
    const me = await register(ts.url);
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'drop-response', count: 1, endpoint: 'keys/upload' });
    await ts.admin.addFault(me.userId, me.deviceId, { kind: 'error', count: 1, status: 429 });
    expect(await ts.admin.listFaults()).toEqual([
      { user_id: me.userId, device_id: me.deviceId, fault: { kind: 'drop-response', count: 1, endpoint: 'keys/upload' } },
      { user_id: me.userId, device_id: me.deviceId, fault: { kind: 'error', count: 1, status: 429 } },
    ]);
    expect((await slidingSync(ts.url, me, { body: toDeviceBody({}) })).status).toBe(429);
    expect((await slidingSync(ts.url, me, { body: toDeviceBody({}) })).status).toBe(200);
    await expect(uploadKeys(ts.url, me, {})).rejects.toThrow();
    expect((await uploadKeys(ts.url, me, {})).status).toBe(200);
  });

  it('faults: claim and query faults are addressed by endpoint too; unknown endpoints are refused', async () => {
    const me = await register(ts.url);
    await uploadKeys(ts.url, me, { one_time_keys: oneTimeKeys(me, 1) });
    await ts.admin.addFault(claimer.userId, claimer.deviceId, { kind: 'drop-response', count: 1, endpoint: 'keys/claim' });
    await expect(claimOne(ts.url, claimer, me)).rejects.toThrow();
    // The dropped claim took the key: the next one finds none.
    expect(await claimOne(ts.url, claimer, me)).toEqual({});
    await ts.admin.addFault(claimer.userId, claimer.deviceId, { kind: 'error', count: 1, status: 500, endpoint: 'keys/query' });
    expect((await queryKeys(ts.url, claimer, { [me.userId]: [] })).status).toBe(500);
    expect((await queryKeys(ts.url, claimer, { [me.userId]: [] })).status).toBe(200);
    for (const fault of [{ kind: 'delay', count: 1, delay_ms: 5, endpoint: 'keys/nope' }, { kind: 'expire-pos', endpoint: 'keys/upload' }]) {
      const response = await api(ts.url, 'POST', '/_todevice/admin/faults', { token: ts.server.adminToken, body: { user_id: me.userId, device_id: me.deviceId, fault } });
      expect(response, JSON.stringify(fault)).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    }
  });
});
