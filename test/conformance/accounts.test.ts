// Conformance: /versions, register (with user-interactive auth), login, whoami, logout, devices, access tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, login, numbers, register, sendNumbered, slidingSync, startTestServer, toDeviceBody, uniqueName, type TestServer } from './support';

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});

describe('accounts', () => {
  it('versions: advertises MSC3885, MSC4538 and simplified sliding sync', async () => {
    const response = await api(ts.url, 'GET', '/_matrix/client/versions');
    expect(response.status).toBe(200);
    expect(response.body.versions).toContain('v1.11');
    expect(response.body.unstable_features).toMatchObject({
      'org.matrix.msc3885': true,
      'org.matrix.msc4538': true,
      'org.matrix.simplified_msc3575': true,
    });
  });

  it('register: without auth answers the 401 dummy flow, then succeeds with it', async () => {
    const username = uniqueName();
    const challenge = await api(ts.url, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'pw' } });
    expect(challenge.status).toBe(401);
    expect(challenge.body).toEqual({ flows: [{ stages: ['m.login.dummy'] }], session: expect.any(String), params: {} });
    const done = await api(ts.url, 'POST', '/_matrix/client/v3/register', {
      body: { username, password: 'pw', initial_device_display_name: 'Phone', auth: { type: 'm.login.dummy', session: challenge.body.session } },
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ user_id: `@${username}:localhost`, access_token: expect.any(String), device_id: expect.any(String) });
  });

  it('register: a taken name gets M_USER_IN_USE, an invalid one M_INVALID_USERNAME', async () => {
    const user = await register(ts.url);
    const localpart = user.userId.slice(1, user.userId.indexOf(':'));
    const taken = await api(ts.url, 'POST', '/_matrix/client/v3/register', { body: { username: localpart, password: 'pw', auth: { type: 'm.login.dummy' } } });
    expect(taken).toMatchObject({ status: 400, body: { errcode: 'M_USER_IN_USE' } });
    const invalid = await api(ts.url, 'POST', '/_matrix/client/v3/register', { body: { username: 'Bad Name', password: 'pw', auth: { type: 'm.login.dummy' } } });
    expect(invalid).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_USERNAME' } });
  });

  it('login: by localpart or full user ID, wrong password is 403 M_FORBIDDEN', async () => {
    const user = await register(ts.url);
    const localpart = user.userId.slice(1, user.userId.indexOf(':'));
    for (const id of [localpart, user.userId]) {
      const response = await api(ts.url, 'POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: id }, password: user.password },
      });
      expect(response.status).toBe(200);
      expect(response.body.user_id).toBe(user.userId);
    }
    const wrong = await api(ts.url, 'POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: localpart }, password: 'wrong' },
    });
    expect(wrong).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect((await api(ts.url, 'GET', '/_matrix/client/v3/login')).body.flows).toEqual([{ type: 'm.login.password' }]);
  });

  it('login: with an existing device_id keeps the device and its queue', async () => {
    const sender = await register(ts.url);
    const user = await register(ts.url, 'PHONE');
    await sendNumbered(ts.url, sender, user, 2);
    const again = await login(ts.url, user, 'PHONE');
    expect(again.deviceId).toBe('PHONE');
    const response = await slidingSync(ts.url, again, { body: toDeviceBody({}) });
    expect(numbers(response.body.extensions.to_device.events)).toEqual([0, 1]);
    // Both access tokens of the device stay valid: two processes may share a device.
    expect((await api(ts.url, 'GET', '/_matrix/client/v3/account/whoami', { token: user.accessToken })).status).toBe(200);
  });

  it('whoami, devices and logout', async () => {
    const user = await register(ts.url, 'ONE');
    await login(ts.url, user, 'TWO');
    const whoami = await api(ts.url, 'GET', '/_matrix/client/v3/account/whoami', { token: user.accessToken });
    expect(whoami.body).toEqual({ user_id: user.userId, device_id: 'ONE', is_guest: false });
    const devices = await api(ts.url, 'GET', '/_matrix/client/v3/devices', { token: user.accessToken });
    expect(devices.body.devices.map((d: { device_id: string }) => d.device_id)).toEqual(['ONE', 'TWO']);
    expect(await api(ts.url, 'POST', '/_matrix/client/v3/logout', { token: user.accessToken })).toEqual({ status: 200, body: {} });
    const after = await api(ts.url, 'GET', '/_matrix/client/v3/account/whoami', { token: user.accessToken });
    expect(after).toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } });
  });

  it('access token: accepted from the access_token query parameter; missing or unknown is 401', async () => {
    const user = await register(ts.url);
    const viaQuery = await api(ts.url, 'GET', `/_matrix/client/v3/account/whoami?access_token=${user.accessToken}`);
    expect(viaQuery.body.user_id).toBe(user.userId);
    expect((await api(ts.url, 'GET', '/_matrix/client/v3/account/whoami')).body.errcode).toBe('M_MISSING_TOKEN');
    expect((await api(ts.url, 'GET', '/_matrix/client/v3/account/whoami', { token: 'td_nope' })).body.errcode).toBe('M_UNKNOWN_TOKEN');
  });
});
