// Conformance: rooms in both sync kinds. Classic /v3/sync's rooms.join/invite/leave (state, timeline,
// invite_state, prev_batch, limited, ephemeral, account data, the filter parameter) and sliding sync's lists and
// room subscriptions (count, ranges, initial rooms, required_state, timeline_limit, incremental rooms, invites,
// sticky subscriptions, retries, the account_data/receipts/typing extensions), plus the long polls that wake for
// room changes, and the to-device-only request that does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, register, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
  await ts.close();
});

const enc = encodeURIComponent;
type Event = { type: string; state_key?: string; sender: string; content: Record<string, unknown>; event_id: string };

async function createRoom(owner: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const response = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', { token: owner.accessToken, body });
  expect(response.status).toBe(200);
  return response.body.room_id;
}

let txn = 0;
async function say(user: TestUser, roomId: string, body: string): Promise<string> {
  txn += 1;
  const response = await api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/s${txn}`, { token: user.accessToken, body: { msgtype: 'm.text', body } });
  expect(response.status).toBe(200);
  return response.body.event_id;
}

const join = (user: TestUser, roomId: string) => api(ts.url, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/join`, { token: user.accessToken, body: {} });

function classic(user: TestUser, query: Record<string, string> = {}) {
  const search = new URLSearchParams(query).toString();
  return api(ts.url, 'GET', `/_matrix/client/v3/sync${search === '' ? '' : `?${search}`}`, { token: user.accessToken });
}

const bodies = (events: Event[]) => events.filter((event) => event.type === 'm.room.message').map((event) => event.content.body);

describe('classic sync rooms', () => {
  it('classic rooms: an invite comes as invite_state, then the joined room whole: timeline, state, prev_batch, summary', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const roomId = await createRoom(bob, { name: 'Lunch', invite: [alice.userId] });
    await say(bob, roomId, 'before you came');
    const first = await classic(alice);
    expect(first.body.next_batch).toMatch(/^s\d+_\d+_[0-9a-f]{10}~\d+_\d+_\d+_\d+$/);
    const invite = first.body.rooms.invite[roomId].invite_state.events as Event[];
    expect(invite.find((event) => event.type === 'm.room.name')?.content).toEqual({ name: 'Lunch' });
    expect(invite.at(-1)).toMatchObject({ type: 'm.room.member', state_key: alice.userId, sender: bob.userId, content: { membership: 'invite' } });
    expect(invite.some((event) => event.type === 'm.room.message')).toBe(false);
    expect(first.body.rooms.join).toEqual({});

    await join(alice, roomId);
    const second = await classic(alice, { since: first.body.next_batch, filter: JSON.stringify({ room: { timeline: { limit: 4 } } }) });
    const joined = second.body.rooms.join[roomId];
    expect(second.body.rooms.invite).toEqual({});
    const timeline = joined.timeline.events as Event[];
    expect(timeline).toHaveLength(4);
    expect(joined.timeline.limited).toBe(true);
    expect(timeline.at(-1)).toMatchObject({ type: 'm.room.member', state_key: alice.userId, content: { membership: 'join' } });
    expect(bodies(timeline)).toEqual(['before you came']);
    const state = joined.state.events as Event[];
    expect(state.map((event) => event.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.join_rules']));
    expect(timeline.map((event) => event.type)).toContain('m.room.name');
    const inTimeline = new Set(timeline.map((event) => event.event_id));
    expect(state.some((event) => inTimeline.has(event.event_id))).toBe(false);
    expect(joined.summary).toMatchObject({ 'm.joined_member_count': 2, 'm.invited_member_count': 0 });
    const older = await api(ts.url, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50&from=${joined.timeline.prev_batch}`, { token: alice.accessToken });
    const olderIds = (older.body.chunk as Event[]).map((event) => event.type);
    expect(olderIds.at(-1)).toBe('m.room.create');
    expect(older.body.chunk.some((event: Event) => inTimeline.has(event.event_id))).toBe(false);
  });

  it('classic rooms: an incremental sync carries only the new events; a quiet room is left out; a leave goes to rooms.leave', async () => {
    const alice = await register(ts.url);
    const roomId = await createRoom(alice);
    const start = await classic(alice);
    expect(Object.keys(start.body.rooms.join)).toEqual([roomId]);
    await say(alice, roomId, 'one');
    await say(alice, roomId, 'two');
    const next = await classic(alice, { since: start.body.next_batch });
    expect(bodies(next.body.rooms.join[roomId].timeline.events)).toEqual(['one', 'two']);
    expect(next.body.rooms.join[roomId].timeline.limited).toBe(false);
    expect(next.body.rooms.join[roomId].state.events).toEqual([]);
    const quiet = await classic(alice, { since: next.body.next_batch });
    expect(quiet.body.rooms).toEqual({ join: {}, invite: {}, leave: {} });
    expect(quiet.body.next_batch).toBe(next.body.next_batch);
    await api(ts.url, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: alice.accessToken, body: {} });
    const left = await classic(alice, { since: quiet.body.next_batch });
    expect(left.body.rooms.join).toEqual({});
    expect(left.body.rooms.leave[roomId].timeline.events.at(-1)).toMatchObject({ type: 'm.room.member', state_key: alice.userId, content: { membership: 'leave' } });
  });

  it('classic rooms: account data, typing and receipts come in account_data and ephemeral', async () => {
    const alice = await register(ts.url);
    const roomId = await createRoom(alice);
    const eventId = await say(alice, roomId, 'read me');
    const start = await classic(alice);
    await api(ts.url, 'PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/org.example.pref`, { token: alice.accessToken, body: { on: true } });
    await api(ts.url, 'PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(roomId)}/account_data/m.tag`, { token: alice.accessToken, body: { tags: {} } });
    await api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { token: alice.accessToken, body: { typing: true, timeout: 30000 } });
    await api(ts.url, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, { token: alice.accessToken, body: {} });
    const next = await classic(alice, { since: start.body.next_batch });
    expect(next.body.account_data.events).toEqual([{ type: 'org.example.pref', content: { on: true } }]);
    const section = next.body.rooms.join[roomId];
    expect(section.account_data.events).toEqual([{ type: 'm.tag', content: { tags: {} } }]);
    expect(section.ephemeral.events).toEqual([
      { type: 'm.typing', content: { user_ids: [alice.userId] } },
      { type: 'm.receipt', content: { [eventId]: { 'm.read': { [alice.userId]: { ts: expect.any(Number) } } } } },
    ]);
    const after = await classic(alice, { since: next.body.next_batch });
    expect(after.body.rooms.join).toEqual({});
    expect(after.body.account_data).toBeUndefined();
  });

  it('classic rooms: a stored filter by ID applies its types, rooms and limit', async () => {
    const alice = await register(ts.url);
    const kept = await createRoom(alice, { name: 'kept' });
    const hidden = await createRoom(alice, { name: 'hidden' });
    await say(alice, kept, 'visible');
    const filter = { room: { not_rooms: [hidden], timeline: { types: ['m.room.message'], limit: 5 }, state: { types: ['m.room.name'] } } };
    const uploaded = await api(ts.url, 'POST', `/_matrix/client/v3/user/${enc(alice.userId)}/filter`, { token: alice.accessToken, body: filter });
    const response = await classic(alice, { filter: uploaded.body.filter_id });
    expect(Object.keys(response.body.rooms.join)).toEqual([kept]);
    expect((response.body.rooms.join[kept].timeline.events as Event[]).map((event) => event.type)).toEqual(['m.room.message']);
    expect((response.body.rooms.join[kept].state.events as Event[]).map((event) => event.type)).toEqual(['m.room.name']);
  });

  it('classic rooms: bad filters and room positions are refused with 400 and the spec\'s codes', async () => {
    const alice = await register(ts.url);
    await createRoom(alice);
    const start = await classic(alice);
    const toDevicePart = String(start.body.next_batch).split('~')[0];
    const cases: Array<[Record<string, string>, string]> = [
      [{ filter: '{"room":' }, 'M_NOT_JSON'],
      [{ filter: '{"room":{"timeline":{"limit":"x"}}}' }, 'M_BAD_JSON'],
      [{ filter: '77' }, 'M_INVALID_PARAM'],
      [{ filter: 'abc' }, 'M_INVALID_PARAM'],
      [{ since: `${toDevicePart}~garbage` }, 'M_INVALID_PARAM'],
      [{ since: `${toDevicePart}~999999999_0_0_0` }, 'M_INVALID_PARAM'],
      [{ full_state: 'maybe' }, 'M_INVALID_PARAM'],
    ];
    for (const [query, errcode] of cases) {
      expect(await classic(alice, query), JSON.stringify(query)).toMatchObject({ status: 400, body: { errcode } });
    }
  });

  it('classic rooms: a long poll wakes within moments for a message in a joined room', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const roomId = await createRoom(bob, { preset: 'public_chat' });
    await join(alice, roomId);
    const start = await classic(alice);
    const poll = classic(alice, { since: start.body.next_batch, timeout: '20000' });
    // The poll must be waiting before the message is sent; a plain sync round trip gives it the time.
    await classic(bob);
    const sentAt = Date.now();
    await say(bob, roomId, 'wake up');
    const response = await poll;
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(bodies(response.body.rooms.join[roomId].timeline.events)).toEqual(['wake up']);
  });
});

describe('sliding sync rooms', () => {
  const everything = [['*', '*']];

  it('sliding rooms: a list counts every room and sends those in range, newest first, with required_state and timeline_limit', async () => {
    const alice = await register(ts.url);
    const quiet = await createRoom(alice, { name: 'quiet' });
    const busy = await createRoom(alice, { name: 'busy' });
    const newest = await createRoom(alice, { name: 'newest' });
    await say(alice, busy, 'b1');
    await say(alice, busy, 'b2');
    await say(alice, newest, 'n1');
    const body = { lists: { all: { ranges: [[0, 1]], timeline_limit: 2, required_state: [['m.room.name', '']] } } };
    const response = await slidingSync(ts.url, alice, { body });
    expect(response.body.lists).toEqual({ all: { count: 3 } });
    expect(Object.keys(response.body.rooms).sort()).toEqual([busy, newest].sort());
    expect(response.body.rooms[quiet]).toBeUndefined();
    const entry = response.body.rooms[busy];
    expect(entry).toMatchObject({ initial: true, name: 'busy', membership: 'join', limited: true, joined_count: 1, invited_count: 0 });
    expect(bodies(entry.timeline)).toEqual(['b1', 'b2']);
    expect((entry.required_state as Event[]).map((event) => [event.type, event.state_key])).toEqual([['m.room.name', '']]);
    expect(entry.bump_stamp).toBeGreaterThan(response.body.rooms[newest].bump_stamp - 100);
    expect(typeof entry.prev_batch).toBe('string');
    const older = await api(ts.url, 'GET', `/_matrix/client/v3/rooms/${enc(busy)}/messages?dir=b&limit=1&from=${entry.prev_batch}`, { token: alice.accessToken });
    expect(older.body.chunk[0].type).toBe('m.room.name');
  });

  it('sliding rooms: the next request brings only rooms with news, and only the new events; a retry of the old pos brings them again', async () => {
    const alice = await register(ts.url);
    const a = await createRoom(alice, { name: 'a' });
    const b = await createRoom(alice, { name: 'b' });
    const body = { lists: { all: { ranges: [[0, 9]], timeline_limit: 5, required_state: everything } } };
    const first = await slidingSync(ts.url, alice, { body });
    expect(Object.keys(first.body.rooms).sort()).toEqual([a, b].sort());
    const nothing = await slidingSync(ts.url, alice, { pos: first.body.pos, body });
    expect(nothing.body.rooms).toEqual({});
    await say(alice, a, 'news');
    const news = await slidingSync(ts.url, alice, { pos: nothing.body.pos, body });
    expect(Object.keys(news.body.rooms)).toEqual([a]);
    expect(news.body.rooms[a].initial).toBeUndefined();
    expect(bodies(news.body.rooms[a].timeline)).toEqual(['news']);
    expect(news.body.rooms[a].num_live).toBe(1);
    expect(news.body.rooms[a].required_state).toEqual([]);
    const retried = await slidingSync(ts.url, alice, { pos: nothing.body.pos, body });
    expect(bodies(retried.body.rooms[a].timeline)).toEqual(['news']);
    const after = await slidingSync(ts.url, alice, { pos: retried.body.pos, body });
    expect(after.body.rooms).toEqual({});
  });

  it('sliding rooms: an invite carries invite_state and its membership; after the join the room comes whole', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const roomId = await createRoom(bob, { name: 'Party', invite: [alice.userId] });
    const body = { lists: { all: { ranges: [[0, 9]], timeline_limit: 10, required_state: everything } } };
    const first = await slidingSync(ts.url, alice, { body });
    const invite = first.body.rooms[roomId];
    expect(invite).toMatchObject({ initial: true, membership: 'invite', name: 'Party' });
    expect(invite.timeline).toBeUndefined();
    expect((invite.invite_state as Event[]).at(-1)).toMatchObject({ type: 'm.room.member', state_key: alice.userId, content: { membership: 'invite' } });
    expect(invite.stripped_state).toEqual(invite.invite_state);
    await join(alice, roomId);
    const joined = await slidingSync(ts.url, alice, { pos: first.body.pos, body });
    expect(joined.body.rooms[roomId]).toMatchObject({ initial: true, membership: 'join', name: 'Party', joined_count: 2 });
    expect((joined.body.rooms[roomId].required_state as Event[]).some((event) => event.type === 'm.room.create')).toBe(true);
  });

  it('sliding rooms: a subscription is sticky, $LAZY and $ME pick members, unknown rooms are ignored, unsubscribe ends it', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const carol = await register(ts.url);
    const roomId = await createRoom(bob, { preset: 'public_chat' });
    await join(alice, roomId);
    await join(carol, roomId);
    await say(bob, roomId, 'from bob');
    const subscription = { timeline_limit: 1, required_state: [['m.room.member', '$LAZY'], ['m.room.member', '$ME']] };
    const first = await slidingSync(ts.url, alice, { body: { room_subscriptions: { [roomId]: subscription, '!nowhere:localhost': subscription } } });
    expect(Object.keys(first.body.rooms)).toEqual([roomId]);
    const members = (first.body.rooms[roomId].required_state as Event[]).map((event) => event.state_key).sort();
    expect(members).toEqual([alice.userId, bob.userId].sort());
    await say(carol, roomId, 'from carol');
    const sticky = await slidingSync(ts.url, alice, { pos: first.body.pos, body: {} });
    expect(bodies(sticky.body.rooms[roomId].timeline)).toEqual(['from carol']);
    expect((sticky.body.rooms[roomId].required_state as Event[]).map((event) => event.state_key)).toEqual([carol.userId]);
    const off = await slidingSync(ts.url, alice, { pos: sticky.body.pos, body: { unsubscribe_rooms: [roomId] } });
    await say(bob, roomId, 'unseen');
    const none = await slidingSync(ts.url, alice, { pos: off.body.pos, body: {} });
    expect(none.body.rooms).toEqual({});
  });

  it('sliding rooms: filters pick invites, and ranges past the end are fine', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const invited = await createRoom(bob, { invite: [alice.userId] });
    await createRoom(alice);
    const body = { lists: { invites: { ranges: [[0, 50]], timeline_limit: 1, required_state: [], filters: { is_invite: true } }, joined: { ranges: [[5, 9]], timeline_limit: 1, required_state: [], filters: { is_invite: false } } } };
    const response = await slidingSync(ts.url, alice, { body });
    expect(response.body.lists).toEqual({ invites: { count: 1 }, joined: { count: 1 } });
    expect(Object.keys(response.body.rooms)).toEqual([invited]);
  });

  it('sliding rooms: the account_data, receipts and typing extensions', async () => {
    const alice = await register(ts.url);
    const roomId = await createRoom(alice);
    const eventId = await say(alice, roomId, 'x');
    await api(ts.url, 'PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/org.example.a`, { token: alice.accessToken, body: { a: 1 } });
    const extensions = { account_data: { enabled: true }, receipts: { enabled: true }, typing: { enabled: true } };
    const body = { lists: { all: { ranges: [[0, 9]], timeline_limit: 1, required_state: [] } }, extensions };
    const first = await slidingSync(ts.url, alice, { body });
    expect(first.body.extensions.account_data.global).toEqual([{ type: 'org.example.a', content: { a: 1 } }]);
    await api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { token: alice.accessToken, body: { typing: true } });
    await api(ts.url, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, { token: alice.accessToken, body: {} });
    const next = await slidingSync(ts.url, alice, { pos: first.body.pos, body });
    expect(next.body.extensions.account_data.global).toEqual([]);
    expect(next.body.extensions.typing.rooms[roomId]).toEqual({ type: 'm.typing', content: { user_ids: [alice.userId] } });
    expect(next.body.extensions.receipts.rooms[roomId].content[eventId]['m.read'][alice.userId]).toEqual({ ts: expect.any(Number) });
  });

  it('sliding rooms: a room-side long poll wakes for a message; a to-device-only one does not, and carries no rooms', async () => {
    const alice = await register(ts.url);
    const roomId = await createRoom(alice);
    const body = { lists: { all: { ranges: [[0, 9]], timeline_limit: 1, required_state: [] } } };
    const first = await slidingSync(ts.url, alice, { body });
    const poll = slidingSync(ts.url, alice, { pos: first.body.pos, timeoutMs: 20_000, body });
    await slidingSync(ts.url, alice, { body: { conn_id: 'other' } });
    const sentAt = Date.now();
    await say(alice, roomId, 'ping');
    const woken = await poll;
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(bodies(woken.body.rooms[roomId].timeline)).toEqual(['ping']);

    const primed = await slidingSync(ts.url, alice, { body: toDeviceBody({}) });
    expect(primed.body).toEqual({ pos: expect.any(String), lists: {}, rooms: {}, extensions: { to_device: { next_batch: expect.any(String), events: [] } } });
    const started = Date.now();
    const toDeviceOnly = slidingSync(ts.url, alice, { pos: primed.body.pos, timeoutMs: 700, body: toDeviceBody({ since: primed.body.extensions.to_device.next_batch }) });
    await say(alice, roomId, 'not for to-device');
    const response = await toDeviceOnly;
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(response.body.rooms).toEqual({});
  });

  it('sliding rooms: more than 100 lists or subscriptions is 400 M_INVALID_PARAM', async () => {
    const alice = await register(ts.url);
    const lists = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`l${i}`, { ranges: [[0, 1]], timeline_limit: 1, required_state: [] }]));
    expect(await slidingSync(ts.url, alice, { body: { lists } })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    const subs = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`!r${i}:localhost`, { timeline_limit: 1 }]));
    expect(await slidingSync(ts.url, alice, { body: { room_subscriptions: subs } })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  });
});
