// Conformance: minimal rooms (create, invite, join, send, get event, messages) and HTTP pushes to a push gateway.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushNotifyRequest } from '../../src/shared/wire';
import { api, register, startTestServer, type TestServer, type TestUser } from './support';

let ts: TestServer;

/** A push gateway in this test process that records notifications and answers with a scripted status. */
interface Gateway {
  url: string;
  received: PushNotifyRequest[];
  statuses: number[];
  server: Server;
  waitFor(count: number): Promise<void>;
}

async function startGateway(): Promise<Gateway> {
  const received: PushNotifyRequest[] = [];
  const statuses: number[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const status = statuses.shift() ?? 200;
      if (status === 200) received.push(JSON.parse(text) as PushNotifyRequest);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ rejected: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // Waits until `count` pushes arrived, or 20 s (the assertions after it then say what is missing).
  const waitFor = async (count: number) => {
    const deadline = Date.now() + 20_000;
    while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  };
  return { url: `http://127.0.0.1:${port}/_matrix/push/v1/notify`, received, statuses, server, waitFor };
}

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});

async function createRoom(owner: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const response = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', { token: owner.accessToken, body });
  expect(response.status).toBe(200);
  return response.body.room_id;
}

const send = (user: TestUser, roomId: string, txnId: string, body: unknown = { msgtype: 'm.text', body: 'hi' }) =>
  api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`, { token: user.accessToken, body });

const join = (user: TestUser, roomIdOrAlias: string) =>
  api(ts.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomIdOrAlias)}`, { token: user.accessToken, body: {} });

async function setPusher(user: TestUser, url: string, pushkey = 'key-1'): Promise<{ status: number; body: { errcode?: string } }> {
  return api(ts.url, 'POST', '/_matrix/client/v3/pushers/set', {
    token: user.accessToken,
    body: { kind: 'http', app_id: 'org.example.todevice', pushkey, app_display_name: 'todevice', device_display_name: 'phone', lang: 'en', data: { url, format: 'event_id_only' } },
  });
}

describe('rooms', () => {
  it('rooms: invited users may join, others may not join a private room', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const eve = await register(ts.url);
    const roomId = await createRoom(alice, { invite: [bob.userId], preset: 'private_chat' });
    expect((await join(eve, roomId))).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect((await join(bob, roomId))).toEqual({ status: 200, body: { room_id: roomId } });
    const joined = await api(ts.url, 'GET', '/_matrix/client/v3/joined_rooms', { token: bob.accessToken });
    expect(joined.body.joined_rooms).toEqual([roomId]);
    expect((await join(bob, '!missing:localhost')).status).toBe(404);
  });

  it('rooms: a public room can be joined by alias', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const alias = `pub${Date.now()}`;
    const roomId = await createRoom(alice, { preset: 'public_chat', room_alias_name: alias });
    expect((await join(bob, `#${alias}:localhost`)).body.room_id).toBe(roomId);
  });

  it('rooms: send is idempotent per txnId and the event can be fetched by members only', async () => {
    const alice = await register(ts.url);
    const bob = await register(ts.url);
    const roomId = await createRoom(alice);
    const first = await send(alice, roomId, 't1');
    const again = await send(alice, roomId, 't1');
    expect(first.status).toBe(200);
    expect(again.body.event_id).toBe(first.body.event_id);
    const eventPath = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(first.body.event_id)}`;
    const event = await api(ts.url, 'GET', eventPath, { token: alice.accessToken });
    expect(event.body).toMatchObject({ event_id: first.body.event_id, room_id: roomId, type: 'm.room.message', sender: alice.userId, content: { body: 'hi' } });
    expect((await api(ts.url, 'GET', eventPath, { token: bob.accessToken })).status).toBe(403);
    const missing = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/%24nope`;
    expect((await api(ts.url, 'GET', missing, { token: alice.accessToken })).status).toBe(404);
    expect((await send(bob, roomId, 't1')).status).toBe(403);
  });

  it('rooms: event content over 65536 bytes gets 413', async () => {
    const alice = await register(ts.url);
    const roomId = await createRoom(alice);
    const response = await send(alice, roomId, 'big', { body: 'x'.repeat(70_000) });
    expect(response).toMatchObject({ status: 413, body: { errcode: 'M_TOO_LARGE' } });
  });
});

describe('messages', () => {
  const messages = (user: TestUser, roomId: string, query: string) =>
    api(ts.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${query}`, { token: user.accessToken });

  it('messages: pages forward from the start and continues from `end`, which is always given going forward', async () => {
    const alice = await register(ts.url);
    const roomId = await createRoom(alice);
    for (let i = 0; i < 5; i += 1) expect((await send(alice, roomId, `m-${i}`, { msgtype: 'm.text', body: `n${i}` })).status).toBe(200);
    const bodies: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const response = await messages(alice, roomId, `dir=f&limit=3${from === undefined ? '' : `&from=${from}`}`);
      expect(response.status).toBe(200);
      const chunk = response.body.chunk as Array<{ type: string; content: { body?: string } }>;
      bodies.push(...chunk.filter((e) => e.type === 'm.room.message').map((e) => e.content.body ?? ''));
      expect(typeof response.body.end).toBe('string');
      if (chunk.length === 0) break;
      from = response.body.end;
    }
    expect(bodies).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    // Nothing new: the same `end` comes back, so a client can keep polling from it.
    expect((await messages(alice, roomId, `dir=f&from=${from ?? ''}`)).body).toMatchObject({ chunk: [], end: from });
    await send(alice, roomId, 'm-late', { msgtype: 'm.text', body: 'late' });
    const late = await messages(alice, roomId, `dir=f&from=${from ?? ''}`);
    expect(late.body.chunk.map((e: { content: { body?: string } }) => e.content.body)).toEqual(['late']);
  });

  it('messages: backwards from the end, newest first, and no `end` once the start of the room is reached', async () => {
    const alice = await register(ts.url);
    const roomId = await createRoom(alice);
    await send(alice, roomId, 'b-1', { msgtype: 'm.text', body: 'first' });
    await send(alice, roomId, 'b-2', { msgtype: 'm.text', body: 'second' });
    const newest = await messages(alice, roomId, 'dir=b&limit=2');
    expect(newest.body.chunk.map((e: { content: { body?: string } }) => e.content.body)).toEqual(['second', 'first']);
    expect(typeof newest.body.end).toBe('string');
    const all = await messages(alice, roomId, 'dir=b&limit=1000');
    expect(all.body.end).toBeUndefined();
  });

  it('messages: bad parameters get 400 M_INVALID_PARAM, non-members 403, unknown rooms 404', async () => {
    const alice = await register(ts.url);
    const eve = await register(ts.url);
    const roomId = await createRoom(alice);
    for (const query of ['dir=x', 'dir=f&from=garbage', 'dir=f&limit=0', 'dir=f&limit=-3', 'dir=f&limit=abc']) {
      expect(await messages(alice, roomId, query), query).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    }
    expect((await messages(eve, roomId, 'dir=f')).status).toBe(403);
    expect((await messages(alice, '!missing:localhost', 'dir=f')).status).toBe(404);
  });
});

describe('push', () => {
  it('push: a room message is pushed to every other member\'s gateway, not the sender\'s', async () => {
    const gateway = await startGateway();
    try {
      const alice = await register(ts.url);
      const bob = await register(ts.url);
      expect((await setPusher(bob, gateway.url, 'bob-key')).status).toBe(200);
      expect((await setPusher(alice, gateway.url, 'alice-key')).status).toBe(200);
      const roomId = await createRoom(alice, { invite: [bob.userId] });
      await join(bob, roomId);
      const sent = await send(alice, roomId, 'p1');
      await gateway.waitFor(1);
      expect(gateway.received).toEqual([
        {
          notification: {
            event_id: sent.body.event_id,
            room_id: roomId,
            type: 'm.room.message',
            sender: alice.userId,
            counts: { unread: 1 },
            devices: [{ app_id: 'org.example.todevice', pushkey: 'bob-key', data: { format: 'event_id_only' } }],
          },
        },
      ]);
    } finally {
      gateway.server.close();
    }
  });

  it('push: a failing gateway is retried, and the sender never waits for it', async () => {
    const gateway = await startGateway();
    try {
      gateway.statuses.push(500, 503);
      const alice = await register(ts.url);
      const bob = await register(ts.url);
      await setPusher(bob, gateway.url);
      const roomId = await createRoom(alice, { invite: [bob.userId] });
      await join(bob, roomId);
      expect((await send(alice, roomId, 'r1')).status).toBe(200);
      // The send has returned while the gateway has not yet accepted anything: delivery runs detached.
      expect(gateway.received).toHaveLength(0);
      await gateway.waitFor(1);
      expect(gateway.received).toHaveLength(1);
      expect(ts.logs.filter((line) => line.startsWith('push: attempt'))).toHaveLength(2);
    } finally {
      gateway.server.close();
    }
  });

  it('push: pusher URLs must be loopback http(s) with the notify path; kind null deletes', async () => {
    const bob = await register(ts.url);
    for (const url of ['http://example.com/_matrix/push/v1/notify', 'http://10.0.0.1/_matrix/push/v1/notify', 'ftp://127.0.0.1/_matrix/push/v1/notify', 'http://127.0.0.1:9/elsewhere', 'not a url']) {
      const response = await setPusher(bob, url);
      expect(response.status, url).toBe(400);
      expect(response.body.errcode).toBe('M_INVALID_PARAM');
    }
    expect((await setPusher(bob, 'http://localhost:9/_matrix/push/v1/notify')).status).toBe(200);
    const listed = await api(ts.url, 'GET', '/_matrix/client/v3/pushers', { token: bob.accessToken });
    expect(listed.body.pushers).toEqual([expect.objectContaining({ kind: 'http', pushkey: 'key-1', data: { url: 'http://localhost:9/_matrix/push/v1/notify', format: 'event_id_only' } })]);
    await api(ts.url, 'POST', '/_matrix/client/v3/pushers/set', { token: bob.accessToken, body: { kind: null, app_id: 'org.example.todevice', pushkey: 'key-1' } });
    expect((await api(ts.url, 'GET', '/_matrix/client/v3/pushers', { token: bob.accessToken })).body.pushers).toEqual([]);
  });
});
