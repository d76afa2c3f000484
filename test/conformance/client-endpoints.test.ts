// Conformance: the endpoints a standard client calls at start and during a session, besides sync and rooms:
// push rules, capabilities, filters, profiles, account data, presence, typing, receipts, read markers, key
// backup and third-party protocols. Shapes as the Client-Server API gives them, errors as it (or Synapse) names
// them, and what must persist across a restart does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, register, startTestServer, type TestServer, type TestUser } from './support';

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
  await ts.close();
});

const enc = encodeURIComponent;
const localpartOf = (user: TestUser): string => user.userId.slice(1, user.userId.indexOf(':'));

async function createRoom(owner: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const response = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', { token: owner.accessToken, body });
  expect(response.status).toBe(200);
  return response.body.room_id;
}

describe('push rules', () => {
  it('push rules: GET /pushrules/ is the spec\'s server-default ruleset with the user\'s ID and localpart put in', async () => {
    const me = await register(ts.url);
    const response = await api(ts.url, 'GET', '/_matrix/client/v3/pushrules/', { token: me.accessToken });
    expect(response.status).toBe(200);
    const global = response.body.global;
    expect(Object.keys(global).sort()).toEqual(['content', 'override', 'room', 'sender', 'underride']);
    const ids = (kind: string) => global[kind].map((rule: { rule_id: string }) => rule.rule_id);
    expect(ids('override')).toEqual([
      '.m.rule.master',
      '.m.rule.suppress_notices',
      '.m.rule.invite_for_me',
      '.m.rule.member_event',
      '.m.rule.is_user_mention',
      '.m.rule.contains_display_name',
      '.m.rule.is_room_mention',
      '.m.rule.roomnotif',
      '.m.rule.tombstone',
      '.m.rule.reaction',
      '.m.rule.room.server_acl',
      '.m.rule.suppress_edits',
    ]);
    expect(ids('content')).toEqual(['.m.rule.contains_user_name']);
    expect(ids('underride')).toEqual(['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']);
    expect(global.room).toEqual([]);
    expect(global.sender).toEqual([]);
    expect(global.override[0]).toEqual({ rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] });
    expect(global.override[2].conditions).toContainEqual({ kind: 'event_match', key: 'state_key', pattern: me.userId });
    expect(global.override[4].conditions).toEqual([{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: me.userId }]);
    expect(global.content[0]).toEqual({
      rule_id: '.m.rule.contains_user_name',
      default: true,
      enabled: true,
      pattern: localpartOf(me),
      actions: ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }],
    });
    expect((await api(ts.url, 'GET', '/_matrix/client/v3/pushrules/global/', { token: me.accessToken })).body).toEqual(global);
  });

  it('push rules: one rule, its enabled flag and actions; unknown kinds and rules are 404, no token 401', async () => {
    const me = await register(ts.url);
    const base = '/_matrix/client/v3/pushrules/global';
    expect((await api(ts.url, 'GET', `${base}/underride/.m.rule.message`, { token: me.accessToken })).body).toMatchObject({ rule_id: '.m.rule.message', actions: ['notify'] });
    expect((await api(ts.url, 'GET', `${base}/override/.m.rule.master/enabled`, { token: me.accessToken })).body).toEqual({ enabled: false });
    expect((await api(ts.url, 'GET', `${base}/override/.m.rule.suppress_notices/actions`, { token: me.accessToken })).body).toEqual({ actions: [] });
    expect(await api(ts.url, 'GET', `${base}/override/.m.rule.nope`, { token: me.accessToken })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect(await api(ts.url, 'GET', `${base}/sideways/.m.rule.master`, { token: me.accessToken })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect(await api(ts.url, 'GET', '/_matrix/client/v3/pushrules/')).toMatchObject({ status: 401, body: { errcode: 'M_MISSING_TOKEN' } });
  });
});

describe('capabilities and server offers', () => {
  it('capabilities: what the server really offers, room version 10 only', async () => {
    const me = await register(ts.url);
    const response = await api(ts.url, 'GET', '/_matrix/client/v3/capabilities', { token: me.accessToken });
    expect(response.body.capabilities).toMatchObject({
      'm.change_password': { enabled: false },
      'm.room_versions': { default: '10', available: { 10: 'stable' } },
      'm.set_displayname': { enabled: true },
      'm.set_avatar_url': { enabled: true },
    });
    const other = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', { token: me.accessToken, body: { room_version: '9' } });
    expect(other).toMatchObject({ status: 400, body: { errcode: 'M_UNSUPPORTED_ROOM_VERSION' } });
  });

  it('key backup and third parties: no backup is 404 M_NOT_FOUND, no bridges an empty protocol map', async () => {
    const me = await register(ts.url);
    expect(await api(ts.url, 'GET', '/_matrix/client/v3/room_keys/version', { token: me.accessToken })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect(await api(ts.url, 'GET', '/_matrix/client/v3/thirdparty/protocols', { token: me.accessToken })).toEqual({ status: 200, body: {} });
  });
});

describe('filters', () => {
  const filterPath = (user: TestUser, id?: string) => `/_matrix/client/v3/user/${enc(user.userId)}/filter${id === undefined ? '' : `/${id}`}`;

  it('filters: upload returns increasing IDs, and each reads back exactly as uploaded', async () => {
    const me = await register(ts.url);
    const first = { room: { timeline: { limit: 5, types: ['m.room.message'] } }, presence: { not_types: ['*'] } };
    const second = { event_fields: ['type', 'content'], room: { state: { lazy_load_members: true } }, custom: 1 };
    const a = await api(ts.url, 'POST', filterPath(me), { token: me.accessToken, body: first });
    const b = await api(ts.url, 'POST', filterPath(me), { token: me.accessToken, body: second });
    expect([a.body, b.body]).toEqual([{ filter_id: '0' }, { filter_id: '1' }]);
    expect((await api(ts.url, 'GET', filterPath(me, '0'), { token: me.accessToken })).body).toEqual(first);
    expect((await api(ts.url, 'GET', filterPath(me, '1'), { token: me.accessToken })).body).toEqual(second);
  });

  it('filters: bad JSON is 400 M_NOT_JSON, wrong types 400 M_BAD_JSON, other users 403, unknown IDs 404', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    expect(await api(ts.url, 'POST', filterPath(me), { token: me.accessToken, rawBody: '{"room":' })).toMatchObject({ status: 400, body: { errcode: 'M_NOT_JSON' } });
    for (const body of [[1], { room: { timeline: { limit: 'ten' } } }, { room: { rooms: 'x' } }, { event_format: 'xml' }, { presence: { types: [3] } }, { room: { include_leave: 'yes' } }]) {
      expect(await api(ts.url, 'POST', filterPath(me), { token: me.accessToken, body }), JSON.stringify(body)).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    }
    expect(await api(ts.url, 'POST', filterPath(other), { token: me.accessToken, body: {} })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    await api(ts.url, 'POST', filterPath(other), { token: other.accessToken, body: {} });
    expect(await api(ts.url, 'GET', filterPath(other, '0'), { token: me.accessToken })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(await api(ts.url, 'GET', filterPath(me, '99'), { token: me.accessToken })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect(await api(ts.url, 'GET', filterPath(me, 'abc'), { token: me.accessToken })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  });
});

describe('profiles', () => {
  it('profile: a new user is named by their localpart; setting a name and avatar reads back', async () => {
    const me = await register(ts.url);
    const base = `/_matrix/client/v3/profile/${enc(me.userId)}`;
    expect((await api(ts.url, 'GET', base, { token: me.accessToken })).body).toEqual({ displayname: localpartOf(me) });
    expect(await api(ts.url, 'GET', `${base}/avatar_url`, { token: me.accessToken })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect((await api(ts.url, 'PUT', `${base}/displayname`, { token: me.accessToken, body: { displayname: 'Me Myself' } })).status).toBe(200);
    expect((await api(ts.url, 'PUT', `${base}/avatar_url`, { token: me.accessToken, body: { avatar_url: 'mxc://localhost/abc' } })).status).toBe(200);
    expect((await api(ts.url, 'GET', base, { token: me.accessToken })).body).toEqual({ displayname: 'Me Myself', avatar_url: 'mxc://localhost/abc' });
    expect((await api(ts.url, 'GET', `${base}/displayname`, { token: me.accessToken })).body).toEqual({ displayname: 'Me Myself' });
  });

  it('profile: a new name is written into the member event of every joined room', async () => {
    const me = await register(ts.url);
    const roomId = await createRoom(me);
    await api(ts.url, 'PUT', `/_matrix/client/v3/profile/${enc(me.userId)}/displayname`, { token: me.accessToken, body: { displayname: 'Renamed' } });
    const member = await api(ts.url, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(me.userId)}`, { token: me.accessToken });
    expect(member.body).toEqual({ membership: 'join', displayname: 'Renamed' });
  });

  it('profile: others may not change it (403), unknown users are 404, names are bounded (400)', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    const otherBase = `/_matrix/client/v3/profile/${enc(other.userId)}`;
    expect(await api(ts.url, 'PUT', `${otherBase}/displayname`, { token: me.accessToken, body: { displayname: 'x' } })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(await api(ts.url, 'GET', '/_matrix/client/v3/profile/%40nobody%3Alocalhost', { token: me.accessToken })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    const mine = `/_matrix/client/v3/profile/${enc(me.userId)}/displayname`;
    expect(await api(ts.url, 'PUT', mine, { token: me.accessToken, body: { displayname: 'x'.repeat(257) } })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(await api(ts.url, 'PUT', mine, { token: me.accessToken, body: { displayname: 5 } })).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
  });
});

describe('account data', () => {
  it('account data: global and per-room data read back; unset types are 404', async () => {
    const me = await register(ts.url);
    const global = `/_matrix/client/v3/user/${enc(me.userId)}/account_data/org.example.settings`;
    const perRoom = `/_matrix/client/v3/user/${enc(me.userId)}/rooms/${enc('!r1:localhost')}/account_data/m.tag`;
    expect(await api(ts.url, 'GET', global, { token: me.accessToken })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect((await api(ts.url, 'PUT', global, { token: me.accessToken, body: { theme: 'dark' } })).status).toBe(200);
    expect((await api(ts.url, 'PUT', perRoom, { token: me.accessToken, body: { tags: { 'm.favourite': {} } } })).status).toBe(200);
    expect((await api(ts.url, 'GET', global, { token: me.accessToken })).body).toEqual({ theme: 'dark' });
    expect((await api(ts.url, 'GET', perRoom, { token: me.accessToken })).body).toEqual({ tags: { 'm.favourite': {} } });
  });

  it('account data: other users 403, server-managed types 405 M_BAD_JSON, bad room IDs 400', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    const forOther = `/_matrix/client/v3/user/${enc(other.userId)}/account_data/x`;
    expect(await api(ts.url, 'PUT', forOther, { token: me.accessToken, body: {} })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(await api(ts.url, 'GET', forOther, { token: me.accessToken })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    const fullyRead = `/_matrix/client/v3/user/${enc(me.userId)}/rooms/${enc('!r1:localhost')}/account_data/m.fully_read`;
    expect(await api(ts.url, 'PUT', fullyRead, { token: me.accessToken, body: { event_id: '$x' } })).toMatchObject({ status: 405, body: { errcode: 'M_BAD_JSON' } });
    const badRoom = `/_matrix/client/v3/user/${enc(me.userId)}/rooms/not-a-room/account_data/x`;
    expect(await api(ts.url, 'PUT', badRoom, { token: me.accessToken, body: {} })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  });
});

describe('presence', () => {
  it('presence: set and read back; never set reads offline; bad states 400, others 403, unknown users 404', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    const mine = `/_matrix/client/v3/presence/${enc(me.userId)}/status`;
    expect((await api(ts.url, 'GET', mine, { token: me.accessToken })).body).toEqual({ presence: 'offline' });
    expect((await api(ts.url, 'PUT', mine, { token: me.accessToken, body: { presence: 'online', status_msg: 'here' } })).status).toBe(200);
    expect((await api(ts.url, 'GET', mine, { token: other.accessToken })).body).toMatchObject({ presence: 'online', status_msg: 'here', currently_active: true, last_active_ago: expect.any(Number) });
    expect(await api(ts.url, 'PUT', mine, { token: me.accessToken, body: { presence: 'asleep' } })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(await api(ts.url, 'PUT', `/_matrix/client/v3/presence/${enc(other.userId)}/status`, { token: me.accessToken, body: { presence: 'online' } })).toMatchObject({ status: 403 });
    expect(await api(ts.url, 'GET', '/_matrix/client/v3/presence/%40nobody%3Alocalhost/status', { token: me.accessToken })).toMatchObject({ status: 404 });
  });
});

describe('typing, receipts and read markers', () => {
  it('typing and receipts: members only; bad types and unknown events are refused', async () => {
    const me = await register(ts.url);
    const outsider = await register(ts.url);
    const roomId = await createRoom(me);
    const sent = await api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t1`, { token: me.accessToken, body: { msgtype: 'm.text', body: 'x' } });
    const eventId: string = sent.body.event_id;
    const room = `/_matrix/client/v3/rooms/${enc(roomId)}`;
    expect(await api(ts.url, 'PUT', `${room}/typing/${enc(me.userId)}`, { token: me.accessToken, body: { typing: true, timeout: 1000 } })).toEqual({ status: 200, body: {} });
    expect(await api(ts.url, 'PUT', `${room}/typing/${enc(me.userId)}`, { token: me.accessToken, body: { typing: 'yes' } })).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    expect(await api(ts.url, 'PUT', `${room}/typing/${enc(outsider.userId)}`, { token: outsider.accessToken, body: { typing: true } })).toMatchObject({ status: 403 });
    expect(await api(ts.url, 'POST', `${room}/receipt/m.read/${enc(eventId)}`, { token: me.accessToken, body: {} })).toEqual({ status: 200, body: {} });
    expect(await api(ts.url, 'POST', `${room}/receipt/m.seen/${enc(eventId)}`, { token: me.accessToken, body: {} })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(await api(ts.url, 'POST', `${room}/receipt/m.read/%24nope`, { token: me.accessToken, body: {} })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect(await api(ts.url, 'POST', `${room}/receipt/m.read/${enc(eventId)}`, { token: outsider.accessToken, body: {} })).toMatchObject({ status: 403 });
    expect(await api(ts.url, 'POST', `${room}/read_markers`, { token: me.accessToken, body: { 'm.fully_read': eventId, 'm.read': eventId } })).toEqual({ status: 200, body: {} });
    const marker = await api(ts.url, 'GET', `/_matrix/client/v3/user/${enc(me.userId)}/rooms/${enc(roomId)}/account_data/m.fully_read`, { token: me.accessToken });
    expect(marker.body).toEqual({ event_id: eventId });
  });
});

describe('persistence', () => {
  it('restart: filters, profiles, account data and presence survive a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-client-'));
    const dbPath = path.join(dir, 'homeserver.db');
    try {
      let server = await startTestServer({ dbPath });
      const me = await register(server.url);
      const filter = await api(server.url, 'POST', `/_matrix/client/v3/user/${enc(me.userId)}/filter`, { token: me.accessToken, body: { room: { timeline: { limit: 3 } } } });
      await api(server.url, 'PUT', `/_matrix/client/v3/profile/${enc(me.userId)}/displayname`, { token: me.accessToken, body: { displayname: 'Kept' } });
      await api(server.url, 'PUT', `/_matrix/client/v3/user/${enc(me.userId)}/account_data/org.example.kept`, { token: me.accessToken, body: { v: 1 } });
      await api(server.url, 'PUT', `/_matrix/client/v3/presence/${enc(me.userId)}/status`, { token: me.accessToken, body: { presence: 'unavailable' } });
      await server.close();
      server = await startTestServer({ dbPath });
      try {
        const read = (p: string) => api(server.url, 'GET', p, { token: me.accessToken });
        expect((await read(`/_matrix/client/v3/user/${enc(me.userId)}/filter/${filter.body.filter_id}`)).body).toEqual({ room: { timeline: { limit: 3 } } });
        expect((await read(`/_matrix/client/v3/profile/${enc(me.userId)}`)).body).toEqual({ displayname: 'Kept' });
        expect((await read(`/_matrix/client/v3/user/${enc(me.userId)}/account_data/org.example.kept`)).body).toEqual({ v: 1 });
        expect((await read(`/_matrix/client/v3/presence/${enc(me.userId)}/status`)).body).toMatchObject({ presence: 'unavailable' });
      } finally {
        await server.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
