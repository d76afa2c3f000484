import { describe, expect, it } from 'vitest';
import { MatrixClient } from '../../../src/engine/matrix-client';
import { parseClassicSync, parseSlidingSyncToDevice } from '../../../src/engine/sync-responses';

function clientAnswering(status: number, body: string, headers: Record<string, string> = {}): { client: MatrixClient; requests: Array<{ url: string; init: RequestInit }> } {
  const requests: Array<{ url: string; init: RequestInit }> = [];
  const client = new MatrixClient({
    baseUrl: 'http://hs.test',
    accessToken: 'tok',
    fetch: async (url, init) => {
      requests.push({ url, init });
      return new Response(body, { status, headers });
    },
  });
  return { client, requests };
}

const syncRequest = { connId: 'main', timeoutMs: 0, toDevice: { enabled: true as const, limit: 10, since: '5_ab' } };

describe('matrix client', () => {
  it('sliding sync: pos and timeout go in the query, conn_id and the to_device extension in the body', async () => {
    const { client, requests } = clientAnswering(200, JSON.stringify({ pos: 'p2', extensions: { to_device: { next_batch: '6_cd' } } }));
    const result = await client.slidingSyncToDevice({ ...syncRequest, pos: 'p1', timeoutMs: 30_000 });
    expect(result).toEqual({ ok: true, value: { pos: 'p2', nextBatch: '6_cd', events: [], malformedEvents: 0 } });
    const url = new URL(requests[0]?.url ?? '');
    expect(url.searchParams.get('pos')).toBe('p1');
    expect(url.searchParams.get('timeout')).toBe('30000');
    expect(JSON.parse(String(requests[0]?.init.body))).toEqual({
      conn_id: 'main',
      extensions: { to_device: { enabled: true, limit: 10, since: '5_ab' } },
    });
    expect((requests[0]?.init.headers as Record<string, string>).authorization).toBe('Bearer tok');
  });

  it('sliding sync: M_UNKNOWN_POS is its own kind', async () => {
    const { client } = clientAnswering(400, JSON.stringify({ errcode: 'M_UNKNOWN_POS', error: 'gone' }));
    expect(await client.slidingSyncToDevice(syncRequest)).toEqual({ ok: false, error: { kind: 'unknown-pos', message: 'gone' } });
  });

  it('room list: one list and no extension, answered at once; the membership from the field, an invite, or the member event', async () => {
    const rooms = {
      '!own:x': { membership: 'join' },
      '!invite:x': { invite_state: [] },
      '!gone:x': { required_state: [{ type: 'm.room.member', state_key: '@me:x', content: { membership: 'leave' } }] },
      '!silent:x': { timeline: [] },
    };
    const { client, requests } = clientAnswering(200, JSON.stringify({ pos: 'p2', lists: { rooms: { count: 4 } }, rooms }));
    const result = await client.slidingSyncRoomList({ connId: 'list', pos: 'p1', range: [0, 9] });
    expect(result).toEqual({
      ok: true,
      value: {
        pos: 'p2',
        count: 4,
        rooms: [
          { roomId: '!own:x', membership: 'join' },
          { roomId: '!invite:x', membership: 'invite' },
          { roomId: '!gone:x', membership: 'leave' },
          { roomId: '!silent:x', membership: undefined },
        ],
      },
    });
    const url = new URL(requests[0]?.url ?? '');
    expect([url.searchParams.get('pos'), url.searchParams.get('timeout')]).toEqual(['p1', '0']);
    expect(JSON.parse(String(requests[0]?.init.body))).toEqual({
      conn_id: 'list',
      lists: { rooms: { ranges: [[0, 9]], timeline_limit: 0, required_state: [['m.room.member', '$ME']] } },
    });
    const { client: broken } = clientAnswering(200, JSON.stringify({ pos: 'p3', lists: {} }));
    expect(await broken.slidingSyncRoomList({ connId: 'list', range: [0, 9] })).toMatchObject({ ok: false, error: { kind: 'http', status: 200 } });
  });

  it('http: 429 carries retry_after_ms, or Retry-After in seconds', async () => {
    const fromBody = clientAnswering(429, JSON.stringify({ errcode: 'M_LIMIT_EXCEEDED', error: 'slow', retry_after_ms: 1500 }));
    const first = await fromBody.client.slidingSyncToDevice(syncRequest);
    expect(first.ok === false && first.error.kind === 'http' && first.error.retryAfterMs).toBe(1500);
    const fromHeader = clientAnswering(429, 'busy', { 'retry-after': '2' });
    const second = await fromHeader.client.slidingSyncToDevice(syncRequest);
    expect(second.ok === false && second.error.kind === 'http' && second.error.retryAfterMs).toBe(2000);
  });

  it('http: a malformed body is an http-kind value, never a crash', async () => {
    const { client } = clientAnswering(200, '<html>proxy error</html>');
    const result = await client.slidingSyncToDevice(syncRequest);
    expect(result.ok === false && result.error.kind).toBe('http');
  });

  it('http: a refused connection is a network error and an aborted request is aborted', async () => {
    const refused = new MatrixClient({ baseUrl: 'http://127.0.0.1:1' });
    const result = await refused.whoami();
    expect(result.ok === false && result.error.kind).toBe('network');
    const controller = new AbortController();
    const hanging = new MatrixClient({
      baseUrl: 'http://hs.test',
      fetch: (_url, init) => new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
    });
    const pending = hanging.slidingSyncToDevice({ ...syncRequest, timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    expect(await pending).toEqual({ ok: false, error: { kind: 'aborted' } });
  });

  it('http: a request past its timeout is a network error that says so', async () => {
    const hanging = new MatrixClient({
      baseUrl: 'http://hs.test',
      requestTimeoutMs: 20,
      fetch: (_url, init) => new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
    });
    expect(await hanging.whoami()).toEqual({ ok: false, error: { kind: 'network', message: 'request timed out' } });
  });

  it('keys: upload, query and claim post their bodies to /keys/* and return the parsed answers', async () => {
    const upload = clientAnswering(200, JSON.stringify({ one_time_key_counts: { signed_curve25519: 50 } }));
    const body = { one_time_keys: { 'signed_curve25519:AAAAAQ': { key: 'k', signatures: {} } } };
    expect(await upload.client.uploadKeys(body)).toEqual({ ok: true, value: { one_time_key_counts: { signed_curve25519: 50 } } });
    expect(upload.requests[0]?.url).toBe('http://hs.test/_matrix/client/v3/keys/upload');
    expect(upload.requests[0]?.init.method).toBe('POST');
    expect(JSON.parse(String(upload.requests[0]?.init.body))).toEqual(body);

    const devices = { '@a:x': { DEV: { user_id: '@a:x', device_id: 'DEV' } } };
    const query = clientAnswering(200, JSON.stringify({ device_keys: devices, failures: {}, master_keys: {} }));
    const queried = await query.client.queryKeys({ device_keys: { '@a:x': [] } });
    expect(queried.ok && queried.value.device_keys).toEqual(devices);
    expect(query.requests[0]?.url).toBe('http://hs.test/_matrix/client/v3/keys/query');

    const keys = { '@a:x': { DEV: { 'signed_curve25519:AAAAAQ': { key: 'k', signatures: {} } } } };
    const claim = clientAnswering(200, JSON.stringify({ one_time_keys: keys }));
    expect(await claim.client.claimKeys({ one_time_keys: { '@a:x': { DEV: 'signed_curve25519' } } })).toEqual({ ok: true, value: { one_time_keys: keys, failures: {} } });
    expect(claim.requests[0]?.url).toBe('http://hs.test/_matrix/client/v3/keys/claim');
  });

  it('keys: answers of the wrong shape are protocol errors that name the field, and Matrix errors pass through', async () => {
    const badUpload = await clientAnswering(200, JSON.stringify({ one_time_key_counts: { signed_curve25519: -1 } })).client.uploadKeys({});
    expect(badUpload).toEqual({ ok: false, error: { kind: 'http', status: 200, message: 'protocol error: keys/upload: "one_time_key_counts" must be an object of non-negative integers' } });
    const badQuery = await clientAnswering(200, JSON.stringify({ device_keys: { '@a:x': 'no' } })).client.queryKeys({ device_keys: {} });
    expect(badQuery.ok === false && badQuery.error.kind === 'http' && badQuery.error.message).toMatch(/keys\/query: "device_keys"/);
    const badClaim = await clientAnswering(200, JSON.stringify({ one_time_keys: { '@a:x': { DEV: 5 } } })).client.claimKeys({ one_time_keys: {} });
    expect(badClaim.ok === false && badClaim.error.kind === 'http' && badClaim.error.message).toMatch(/keys\/claim: "one_time_keys"/);
    const refused = await clientAnswering(400, JSON.stringify({ errcode: 'M_INVALID_PARAM', error: 'One time key signed_curve25519:AAAAAQ already exists' })).client.uploadKeys({});
    expect(refused.ok === false && refused.error).toMatchObject({ kind: 'http', status: 400, errcode: 'M_INVALID_PARAM' });
  });

  it('parse: next_batch missing while enabled is a protocol error; missing events means none', () => {
    expect(parseSlidingSyncToDevice({ pos: 'p', extensions: { to_device: {} } }).ok).toBe(false);
    expect(parseSlidingSyncToDevice({ pos: 'p', extensions: {} }).ok).toBe(false);
    expect(parseSlidingSyncToDevice(null).ok).toBe(false);
    expect(parseSlidingSyncToDevice({ pos: 'p', extensions: { 'org.matrix.msc4538.to_device': { next_batch: '1_a' } } })).toEqual({
      ok: true,
      value: { pos: 'p', nextBatch: '1_a', events: [], malformedEvents: 0 },
    });
  });

  it('parse: malformed events are left out and counted', () => {
    const body = {
      pos: 'p',
      extensions: { to_device: { next_batch: '2_b', events: [{ type: 'm.x', sender: '@a:hs', content: {} }, { type: 7 }, 'junk'] } },
    };
    const parsed = parseSlidingSyncToDevice(body);
    expect(parsed.ok && parsed.value.events).toHaveLength(1);
    expect(parsed.ok && parsed.value.malformedEvents).toBe(2);
  });

  it('parse: classic sync needs next_batch and tolerates a missing to_device section', () => {
    expect(parseClassicSync({ next_batch: 's1_a' })).toEqual({ ok: true, value: { nextBatch: 's1_a', events: [], malformedEvents: 0 } });
    expect(parseClassicSync({ rooms: {} }).ok).toBe(false);
  });
});
