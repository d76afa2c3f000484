// Conformance: bad input gets a clear Matrix error, never a 500: unknown routes, wrong methods, oversized and
// malformed bodies, wrong types.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLIDING_SYNC_PATH } from '../../src/shared/wire';
import { api, register, startTestServer, type TestServer, type TestUser } from './support';

let ts: TestServer;
let me: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  me = await register(ts.url);
});
afterAll(async () => {
  expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
  await ts.close();
});

describe('http errors', () => {
  it('http: unknown routes get 404 M_UNRECOGNIZED, wrong methods 405 M_UNRECOGNIZED', async () => {
    expect(await api(ts.url, 'GET', '/_matrix/client/v3/nothing-here')).toMatchObject({ status: 404, body: { errcode: 'M_UNRECOGNIZED' } });
    expect(await api(ts.url, 'GET', '/%E0%A4%A')).toMatchObject({ status: 404, body: { errcode: 'M_UNRECOGNIZED' } });
    expect(await api(ts.url, 'GET', SLIDING_SYNC_PATH, { token: me.accessToken })).toMatchObject({ status: 405, body: { errcode: 'M_UNRECOGNIZED' } });
    expect(await api(ts.url, 'DELETE', '/_matrix/client/v3/sync')).toMatchObject({ status: 405, body: { errcode: 'M_UNRECOGNIZED' } });
  });

  it('http: OPTIONS is answered for CORS preflight', async () => {
    const response = await fetch(`${ts.url}/_matrix/client/v3/sync`, { method: 'OPTIONS' });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('http: a body over 1 MiB gets 413 M_TOO_LARGE', async () => {
    const response = await api(ts.url, 'POST', SLIDING_SYNC_PATH, { token: me.accessToken, rawBody: `{"x":"${'y'.repeat(1_100_000)}"}` });
    expect(response).toMatchObject({ status: 413, body: { errcode: 'M_TOO_LARGE' } });
  });

  it('http: malformed JSON gets 400 M_NOT_JSON, a non-object body 400 M_BAD_JSON', async () => {
    expect(await api(ts.url, 'POST', SLIDING_SYNC_PATH, { token: me.accessToken, rawBody: '{nope' })).toMatchObject({ status: 400, body: { errcode: 'M_NOT_JSON' } });
    expect(await api(ts.url, 'POST', SLIDING_SYNC_PATH, { token: me.accessToken, rawBody: '[1,2]' })).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    expect(await api(ts.url, 'POST', '/_matrix/client/v3/login', { rawBody: '"string"' })).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
  });

  it('http: wrong types in known fields get 400, not 500', async () => {
    const cases: Array<[string, string, unknown]> = [
      ['POST', SLIDING_SYNC_PATH, { conn_id: 5 }],
      ['POST', SLIDING_SYNC_PATH, { extensions: [] }],
      ['POST', SLIDING_SYNC_PATH, { extensions: { to_device: 'on' } }],
      ['POST', SLIDING_SYNC_PATH, { extensions: { to_device: { enabled: 'yes' } } }],
      ['POST', SLIDING_SYNC_PATH, { extensions: { to_device: { enabled: true, since: { a: 1 } } } }],
      ['POST', '/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 7 }, password: 'x' }],
      ['POST', '/_matrix/client/v3/register', { username: ['a'], auth: { type: 'm.login.dummy' } }],
      ['POST', '/_matrix/client/v3/createRoom', { invite: 'everyone' }],
      ['POST', '/_matrix/client/v3/pushers/set', { kind: 'http', app_id: 1, pushkey: 'k' }],
    ];
    for (const [method, path, body] of cases) {
      const response = await api(ts.url, method, path, { token: me.accessToken, body });
      expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(response.body.errcode).toMatch(/^M_/);
    }
  });
});
