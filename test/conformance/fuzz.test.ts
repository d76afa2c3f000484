// Property-based fuzzing of the whole HTTP API of a real homeserver: random methods, paths (known routes with
// random parameters, and random ones), query strings, headers and bodies (malformed JSON, wrong types, huge
// strings, unicode). Every answer must be a well-formed Matrix JSON response below 500, nothing may be logged
// as unexpected, and afterwards the server must still deliver a queued to-device message exactly once.
// Reproduce a failure with the seed fast-check prints: FUZZ_SEED=<seed> npx vitest run test/conformance/fuzz.test.ts
// (FUZZ_RUNS=3000 for a longer soak). The admin token is not used here: an injected fault is meant to produce 500s and dropped connections.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, login, numbers, register, sendNumbered, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';

let ts: TestServer;
let fuzzer: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  fuzzer = await register(ts.url, 'FUZZ');
});
afterAll(async () => {
  await ts.close();
});

const ROUTE_TEMPLATES = [
  '/_matrix/client/versions',
  '/_matrix/client/v3/register',
  '/_matrix/client/v3/login',
  '/_matrix/client/v3/logout',
  '/_matrix/client/v3/account/whoami',
  '/_matrix/client/v3/devices',
  '/_matrix/client/v3/sendToDevice/:a/:b',
  '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync',
  '/_matrix/client/unstable/org.matrix.msc3575/sync',
  '/_matrix/client/v3/sync',
  '/_matrix/client/v3/createRoom',
  '/_matrix/client/v3/join/:a',
  '/_matrix/client/v3/rooms/:a/join',
  '/_matrix/client/v3/rooms/:a/send/:b/:c',
  '/_matrix/client/v3/rooms/:a/event/:b',
  '/_matrix/client/v3/joined_rooms',
  '/_matrix/client/v3/pushers',
  '/_matrix/client/v3/pushers/set',
  '/_matrix/client/v3/keys/upload',
  '/_matrix/client/v3/keys/query',
  '/_matrix/client/v3/keys/claim',
  '/_matrix/client/v3/keys/changes',
  '/_matrix/client/v3/keys/signatures/upload',
  '/_matrix/client/v3/pushrules/',
  '/_matrix/client/v3/pushrules/global/:a/:b',
  '/_matrix/client/v3/capabilities',
  '/_matrix/client/v3/room_keys/version',
  '/_matrix/client/v3/thirdparty/protocols',
  '/_matrix/client/v3/user/:me/filter',
  '/_matrix/client/v3/user/:me/filter/:a',
  '/_matrix/client/v3/user/:a/filter/:b',
  '/_matrix/client/v3/profile/:me/displayname',
  '/_matrix/client/v3/profile/:a/avatar_url',
  '/_matrix/client/v3/profile/:a',
  '/_matrix/client/v3/user/:me/account_data/:a',
  '/_matrix/client/v3/user/:me/rooms/:a/account_data/:b',
  '/_matrix/client/v3/presence/:me/status',
  '/_matrix/client/v3/rooms/:a/state',
  '/_matrix/client/v3/rooms/:a/state/:b/:c',
  '/_matrix/client/v3/rooms/:a/members',
  '/_matrix/client/v3/rooms/:a/joined_members',
  '/_matrix/client/v3/rooms/:a/invite',
  '/_matrix/client/v3/rooms/:a/leave',
  '/_matrix/client/v3/rooms/:a/typing/:me',
  '/_matrix/client/v3/rooms/:a/receipt/:b/:c',
  '/_matrix/client/v3/rooms/:a/read_markers',
  '/_todevice/admin/faults',
  '/_todevice/admin/devices/:a/:b',
];

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '*', '@x:localhost', '!r:localhost', '%', '..'));

const path = fc.oneof(
  fc.tuple(fc.constantFrom(...ROUTE_TEMPLATES), fc.array(text, { minLength: 3, maxLength: 3 })).map(([template, values]) =>
    template
      .replace(/:me/g, () => encodeURIComponent(fuzzer.userId))
      .replace(/:([abc])/g, (_m, name: string) => encodeURIComponent(values['abc'.indexOf(name)] ?? '')),
  ),
  fc.array(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~%-]{0,12}$/), fc.constantFrom('_matrix', 'client', 'v3', 'unstable')), { maxLength: 6 }).map((parts) => `/${parts.join('/')}`),
);

const queryValue = fc.oneof(text, fc.integer({ min: -5, max: 50 }).map(String), fc.constantFrom('1_0000000000', 's1_0000000000', 's1_1_0000000000'));
const query = fc
  .array(fc.tuple(fc.constantFrom('pos', 'timeout', 'since', 'limit', 'access_token', 'kind', 'from', 'to', 'filter', 'full_state', 'membership', 'x'), queryValue), { maxLength: 3 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${new URLSearchParams(pairs).toString()}`));

/** Values of wrong and right types for the fields handlers read. */
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), text, fc.integer(), fc.double(), fc.constantFrom(null, true, [], {}, 0, -1, 1.5, '5'));

const nearValidBody = fc.oneof(
  fc.record({ messages: fc.oneof(anyValue, fc.dictionary(text, fc.dictionary(text, anyValue, { maxKeys: 2 }), { maxKeys: 2 })) }, { requiredKeys: [] }),
  fc.record({
    conn_id: anyValue,
    lists: anyValue,
    extensions: fc.oneof(anyValue, fc.record({ to_device: fc.oneof(anyValue, fc.record({ enabled: anyValue, limit: anyValue, since: anyValue }, { requiredKeys: [] })) }, { requiredKeys: [] })),
  }, { requiredKeys: [] }),
  fc.record({ type: anyValue, identifier: fc.oneof(anyValue, fc.record({ type: anyValue, user: anyValue })), password: anyValue, device_id: anyValue }, { requiredKeys: [] }),
  fc.record({ username: anyValue, password: anyValue, auth: fc.oneof(anyValue, fc.constant({ type: 'm.login.dummy' })), device_id: anyValue }, { requiredKeys: [] }),
  fc.record({ kind: anyValue, app_id: anyValue, pushkey: anyValue, data: fc.oneof(anyValue, fc.record({ url: anyValue })), append: anyValue }, { requiredKeys: [] }),
  fc.record({ invite: anyValue, preset: anyValue, room_alias_name: anyValue, name: anyValue, initial_state: anyValue, is_direct: anyValue }, { requiredKeys: [] }),
  fc.record({
    lists: fc.oneof(anyValue, fc.dictionary(text, fc.record({ ranges: anyValue, timeline_limit: anyValue, required_state: anyValue, filters: anyValue }, { requiredKeys: [] }), { maxKeys: 2 })),
    room_subscriptions: anyValue,
    unsubscribe_rooms: anyValue,
    extensions: fc.oneof(anyValue, fc.record({ account_data: anyValue, receipts: anyValue, typing: anyValue }, { requiredKeys: [] })),
  }, { requiredKeys: [] }),
  fc.record({ room: anyValue, presence: anyValue, account_data: anyValue, event_fields: anyValue, event_format: anyValue }, { requiredKeys: [] }),
  fc.record({ displayname: anyValue, avatar_url: anyValue, presence: anyValue, status_msg: anyValue, typing: anyValue, timeout: anyValue }, { requiredKeys: [] }),
  fc.record({ user_id: anyValue, reason: anyValue, thread_id: anyValue, 'm.fully_read': anyValue, 'm.read': anyValue }, { requiredKeys: [] }),
  fc.record({
    device_keys: fc.oneof(anyValue, fc.record({ user_id: anyValue, device_id: anyValue, algorithms: anyValue, keys: anyValue, signatures: anyValue }, { requiredKeys: [] })),
    one_time_keys: fc.oneof(anyValue, fc.dictionary(fc.oneof(text, fc.constantFrom('signed_curve25519:A', 'curve25519:B', 'x:y:z')), fc.oneof(anyValue, fc.record({ key: anyValue, signatures: anyValue, fallback: anyValue }, { requiredKeys: [] })), { maxKeys: 3 })),
    fallback_keys: anyValue,
  }, { requiredKeys: [] }),
  fc.record({ one_time_keys: fc.oneof(anyValue, fc.dictionary(text, fc.dictionary(text, anyValue, { maxKeys: 2 }), { maxKeys: 2 })), device_keys: fc.oneof(anyValue, fc.dictionary(text, anyValue, { maxKeys: 2 })) }, { requiredKeys: [] }),
  fc.record({ extensions: fc.record({ e2ee: fc.oneof(anyValue, fc.record({ enabled: anyValue }, { requiredKeys: [] })) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
);

const rawBody = fc.oneof(
  { weight: 3, arbitrary: nearValidBody.map((body) => JSON.stringify(body)) },
  { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: text },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 1_200_000 }).map((n) => `{"messages":"${'x'.repeat(n)}"}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  path,
  query,
  auth: fc.constantFrom('valid', 'garbage', 'none'),
  contentType: fc.oneof(fc.constant(undefined), fc.stringMatching(/^[ -~]{0,30}$/)),
  body: rawBody,
});

function isWellFormed(status: number, body: unknown): boolean {
  // `GET /rooms/{roomId}/state` answers an array, as the spec says; every other answer is an object.
  if (status < 400) return typeof body === 'object' && body !== null;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const fields = body as Record<string, unknown>;
  if (status === 401 && Array.isArray(fields.flows)) return true;
  return typeof fields.errcode === 'string' && fields.errcode.startsWith('M_') && typeof fields.error === 'string';
}

describe('fuzz', () => {
  it('fuzz: random requests always get well-formed Matrix JSON below 500, and delivery still works exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.auth === 'valid') headers.Authorization = `Bearer ${fuzzer.accessToken}`;
        if (r.auth === 'garbage') headers.Authorization = 'Bearer td_garbage';
        if (r.contentType !== undefined) headers['Content-Type'] = r.contentType;
        const hasBody = r.method !== 'GET' && r.body !== undefined;
        const response = await api(ts.url, r.method, r.path + r.query, { headers, rawBody: hasBody ? r.body : undefined });
        expect(response.status).toBeLessThan(500);
        expect(isWellFormed(response.status, response.body), JSON.stringify(response.body)).toBe(true);
        // A fuzzed logout revokes the fuzzer's token; log in again so later runs still reach deep into handlers.
        if (r.path === '/_matrix/client/v3/logout' && response.status === 200) fuzzer = await login(ts.url, fuzzer, 'FUZZ');
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000), verbose: 1 },
    );
    expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);

    const me = await register(ts.url, 'AFTER_FUZZ');
    await sendNumbered(ts.url, fuzzer, me, 1);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(numbers(first.body.extensions.to_device.events)).toEqual([0]);
    const second = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since: first.body.extensions.to_device.next_batch }) });
    expect(second.body.extensions.to_device.events).toEqual([]);
  });
});
