// Conformance: rooms carry real state. createRoom writes the spec's events for its preset, name, topic,
// initial_state and invites; the state, members and joined_members routes read it; PUT state writes it under
// the power levels; invite, join and leave change memberships; errors are the spec's.
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
const room = (roomId: string) => `/_matrix/client/v3/rooms/${enc(roomId)}`;

async function createRoom(owner: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const response = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', { token: owner.accessToken, body });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.room_id;
}

type StateEvent = { type: string; state_key: string; sender: string; content: Record<string, unknown>; event_id: string };

describe('room state', () => {
  it('createRoom: the spec\'s events in order, with the preset, initial_state, name, topic and invites', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const roomId = await createRoom(alice, {
      preset: 'private_chat',
      name: 'Plans',
      topic: 'the topic',
      invite: [bob.userId],
      is_direct: true,
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
      power_level_content_override: { events_default: 10 },
    });
    const state = (await api(ts.url, 'GET', `${room(roomId)}/state`, { token: alice.accessToken })).body as StateEvent[];
    expect(state.map((event) => `${event.type}|${event.state_key}`)).toEqual([
      'm.room.create|',
      `m.room.member|${alice.userId}`,
      'm.room.power_levels|',
      'm.room.join_rules|',
      'm.room.history_visibility|',
      'm.room.guest_access|',
      'm.room.encryption|',
      'm.room.name|',
      'm.room.topic|',
      `m.room.member|${bob.userId}`,
    ]);
    const content = (type: string, key = '') => state.find((event) => event.type === type && event.state_key === key)?.content;
    expect(content('m.room.create')).toEqual({ creator: alice.userId, room_version: '10' });
    expect(content('m.room.power_levels')).toMatchObject({ users: { [alice.userId]: 100 }, state_default: 50, events_default: 10 });
    expect(content('m.room.join_rules')).toEqual({ join_rule: 'invite' });
    expect(content('m.room.history_visibility')).toEqual({ history_visibility: 'shared' });
    expect(content('m.room.encryption')).toEqual({ algorithm: 'm.megolm.v1.aes-sha2' });
    expect(content('m.room.member', bob.userId)).toMatchObject({ membership: 'invite', is_direct: true });
    expect(state.every((event) => event.sender === alice.userId && event.event_id.startsWith('$'))).toBe(true);
  });

  it('createRoom: public_chat makes a public room; initial_state overrides the preset; bad input is 400', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const open = await createRoom(alice, { preset: 'public_chat' });
    expect((await api(ts.url, 'GET', `${room(open)}/state/m.room.join_rules`, { token: alice.accessToken })).body).toEqual({ join_rule: 'public' });
    expect((await api(ts.url, 'POST', `${room(open)}/join`, { token: bob.accessToken, body: {} })).status).toBe(200);
    const custom = await createRoom(alice, { initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    expect((await api(ts.url, 'GET', `${room(custom)}/state/m.room.history_visibility/`, { token: alice.accessToken })).body).toEqual({ history_visibility: 'joined' });
    for (const body of [{ preset: 'party' }, { initial_state: 'x' }, { initial_state: [{ type: 'm.room.member', content: {} }] }, { initial_state: [{ type: 't', content: 1 }] }]) {
      const response = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.errcode).toMatch(/^M_(BAD_JSON|INVALID_PARAM)$/);
    }
  });

  it('state: one state event\'s content; unset keys 404; non-members and unknown rooms 403 M_FORBIDDEN', async () => {
    const alice = await register(ts.url);
    const eve = await register(ts.url);
    const roomId = await createRoom(alice, { name: 'Named' });
    expect((await api(ts.url, 'GET', `${room(roomId)}/state/m.room.name`, { token: alice.accessToken })).body).toEqual({ name: 'Named' });
    expect(await api(ts.url, 'GET', `${room(roomId)}/state/m.room.avatar/`, { token: alice.accessToken })).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    for (const path of ['/state', '/state/m.room.name', '/members', '/joined_members']) {
      expect(await api(ts.url, 'GET', `${room(roomId)}${path}`, { token: eve.accessToken }), path).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
      expect(await api(ts.url, 'GET', `${room('!unknown:localhost')}${path}`, { token: alice.accessToken }), path).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    }
    expect(await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.topic/`, { token: eve.accessToken, body: { topic: 'x' } })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
  });

  it('PUT state: writes under the power levels; the same state again returns the same event', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await api(ts.url, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
    const first = await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.topic/`, { token: alice.accessToken, body: { topic: 'one' } });
    expect(first.body.event_id).toMatch(/^\$/);
    const again = await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.topic`, { token: alice.accessToken, body: { topic: 'one' } });
    expect(again.body.event_id).toBe(first.body.event_id);
    expect((await api(ts.url, 'GET', `${room(roomId)}/state/m.room.topic`, { token: bob.accessToken })).body).toEqual({ topic: 'one' });
    expect(await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.topic/`, { token: bob.accessToken, body: { topic: 'mine' } })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.create/`, { token: alice.accessToken, body: {} })).toMatchObject({ status: 403 });
    const pl = (await api(ts.url, 'GET', `${room(roomId)}/state/m.room.power_levels`, { token: alice.accessToken })).body;
    const raised = { ...pl, users: { ...pl.users, [bob.userId]: 50 } };
    expect((await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.power_levels/`, { token: alice.accessToken, body: raised })).status).toBe(200);
    expect((await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.topic/`, { token: bob.accessToken, body: { topic: 'now mine' } })).status).toBe(200);
    const grab = { ...raised, users: { ...raised.users, [bob.userId]: 100 } };
    expect(await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.power_levels/`, { token: bob.accessToken, body: grab })).toMatchObject({ status: 403 });
    expect(await api(ts.url, 'PUT', `${room(roomId)}/state/org.example.big/`, { token: alice.accessToken, body: { x: 'y'.repeat(70_000) } })).toMatchObject({ status: 413 });
  });

  it('members: invite, join and leave show in members and joined_members; joining an invite-only room needs an invite', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const carol = await register(ts.url);
    const roomId = await createRoom(alice);
    expect(await api(ts.url, 'POST', `${room(roomId)}/join`, { token: bob.accessToken, body: {} })).toMatchObject({ status: 403 });
    expect(await api(ts.url, 'POST', `${room(roomId)}/invite`, { token: alice.accessToken, body: { user_id: bob.userId } })).toEqual({ status: 200, body: {} });
    expect(await api(ts.url, 'POST', `${room(roomId)}/invite`, { token: alice.accessToken, body: { user_id: '@ghost:localhost' } })).toMatchObject({ status: 404 });
    expect(await api(ts.url, 'POST', `${room(roomId)}/invite`, { token: carol.accessToken, body: { user_id: carol.userId } })).toMatchObject({ status: 403 });
    expect(await api(ts.url, 'POST', `${room(roomId)}/invite`, { token: alice.accessToken, body: { user_id: 'bob' } })).toMatchObject({ status: 400 });
    expect((await api(ts.url, 'POST', `${room(roomId)}/join`, { token: bob.accessToken, body: {} })).status).toBe(200);
    expect(await api(ts.url, 'POST', `${room(roomId)}/invite`, { token: alice.accessToken, body: { user_id: bob.userId } })).toMatchObject({ status: 403 });
    const joined = await api(ts.url, 'GET', `${room(roomId)}/joined_members`, { token: bob.accessToken });
    expect(Object.keys(joined.body.joined).sort()).toEqual([alice.userId, bob.userId].sort());
    expect(joined.body.joined[bob.userId]).toEqual({ display_name: bob.userId.slice(1, bob.userId.indexOf(':')) });
    expect((await api(ts.url, 'POST', `${room(roomId)}/leave`, { token: bob.accessToken, body: { reason: 'bye' } })).status).toBe(200);
    expect(await api(ts.url, 'POST', `${room(roomId)}/leave`, { token: bob.accessToken, body: {} })).toMatchObject({ status: 403 });
    const members = await api(ts.url, 'GET', `${room(roomId)}/members`, { token: alice.accessToken });
    const byUser = Object.fromEntries((members.body.chunk as StateEvent[]).map((event) => [event.state_key, event.content.membership]));
    expect(byUser).toEqual({ [alice.userId]: 'join', [bob.userId]: 'leave' });
    const onlyJoined = await api(ts.url, 'GET', `${room(roomId)}/members?membership=join`, { token: alice.accessToken });
    expect(onlyJoined.body.chunk.map((event: StateEvent) => event.state_key)).toEqual([alice.userId]);
    const notLeft = await api(ts.url, 'GET', `${room(roomId)}/members?not_membership=leave`, { token: alice.accessToken });
    expect(notLeft.body.chunk.map((event: StateEvent) => event.state_key)).toEqual([alice.userId]);
    expect(await api(ts.url, 'GET', `${room(roomId)}/members?membership=gone`, { token: alice.accessToken })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(await api(ts.url, 'GET', `${room(roomId)}/state`, { token: bob.accessToken })).toMatchObject({ status: 403 });
  });

  it('join rules: a room made public through PUT state can be joined without an invite', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const roomId = await createRoom(alice);
    expect((await api(ts.url, 'POST', `${room(roomId)}/join`, { token: bob.accessToken, body: {} })).status).toBe(403);
    await api(ts.url, 'PUT', `${room(roomId)}/state/m.room.join_rules/`, { token: alice.accessToken, body: { join_rule: 'public' } });
    expect((await api(ts.url, 'POST', `${room(roomId)}/join`, { token: bob.accessToken, body: {} })).status).toBe(200);
  });
});
