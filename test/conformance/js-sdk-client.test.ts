// Conformance: matrix-js-sdk 37.5's own client, started with `startClient()` exactly as an app starts it, against
// a real `todevice serve`, once with classic /v3/sync and once with its sliding sync (SlidingSync + the simplified
// MSC4186 endpoint). Each client must reach PREPARED and keep syncing, receive 120 tagged to-device messages
// from another account once each and in order, and see a room it was invited to and joined with its real state.
// Every request the client makes goes through a recording proxy, and none may be answered "unrecognized" or
// with a server error. Tests wait for client events, never for fixed times, and stop their clients.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientEvent,
  createClient,
  MemoryStore,
  RoomEvent,
  SyncState,
  type IStartClientOpts,
  type MatrixClient,
  type MatrixEvent,
} from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';
import { SlidingSync } from 'matrix-js-sdk/lib/sliding-sync.js';
import { startRecordingProxy, traceLine, type RecordingProxy } from './recording-proxy';
import { api, register, sendToDevice, startTestServer, type TestServer, type TestUser } from './support';

type SyncMode = 'classic' | 'sliding';

const MESSAGE_COUNT = 120;
const WAIT_MS = 45_000;

let ts: TestServer;
const running: Array<() => Promise<void>> = [];

beforeAll(async () => {
  // The SDK logs every request at debug level; its warnings and errors are what a failing run needs. Its logger
  // is a loglevel logger at run time, which its type does not say.
  (logger as unknown as { setLevel(level: 'warn'): void }).setLevel('warn');
  ts = await startTestServer();
});
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});
afterAll(async () => {
  expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
  await ts.close();
});

interface StartedClient {
  client: MatrixClient;
  proxy: RecordingProxy;
}

/** Starts the SDK's client for `user` through its own recording proxy and waits for PREPARED. */
async function startSdkClient(user: TestUser, mode: SyncMode): Promise<StartedClient> {
  const proxy = await startRecordingProxy(ts.url);
  const client = createClient({
    baseUrl: proxy.url,
    accessToken: user.accessToken,
    userId: user.userId,
    deviceId: user.deviceId,
    useAuthorizationHeader: true,
    store: new MemoryStore(),
  });
  running.push(async () => {
    client.stopClient();
    await proxy.close();
  });
  const options: IStartClientOpts = {};
  if (mode === 'sliding') {
    const everything = { timeline_limit: 10, required_state: [['*', '*']] };
    options.slidingSync = new SlidingSync(proxy.url, new Map([['all', { ranges: [[0, 19]], ...everything }]]), everything, client, 10_000);
  }
  const prepared = until(client, () => client.getSyncState() === SyncState.Prepared || client.getSyncState() === SyncState.Syncing, [ClientEvent.Sync]);
  await client.startClient(options);
  await prepared;
  return { client, proxy };
}

/** Resolves once `check()` holds, re-checking on each of the client's `events`; fails after a generous wait. */
function until(client: MatrixClient, check: () => boolean, events: Array<ClientEvent | RoomEvent>): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEvent = (): void => {
      if (!check()) return;
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      for (const event of events) client.off(event as ClientEvent.Sync, onEvent);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`condition not reached within ${WAIT_MS} ms`));
    }, WAIT_MS);
    for (const event of events) client.on(event as ClientEvent.Sync, onEvent);
    onEvent();
  });
}

/** Sends `{tag, n}` for n in [from, to) to the recipient's device, one sendToDevice call each, in order. */
async function sendTagged(sender: TestUser, recipient: TestUser, tag: string, from: number, to: number): Promise<void> {
  for (let n = from; n < to; n += 1) {
    const response = await sendToDevice(ts.url, sender, { [recipient.userId]: { [recipient.deviceId]: { tag, n } } }, 'org.example.tagged');
    expect(response.status).toBe(200);
  }
}

function expectOnlyRecognisedRequests(proxy: RecordingProxy): void {
  const refused = proxy.requests.filter((request) => request.errcode === 'M_UNRECOGNIZED' || request.status >= 500);
  expect(refused.map(traceLine)).toEqual([]);
}

describe.each<SyncMode>(['classic', 'sliding'])('matrix-js-sdk startClient() with %s sync', (mode) => {
  it(`js-sdk client (${mode}): reaches PREPARED and receives 120 to-device messages once each, in order`, async () => {
    const recipient = await register(ts.url, 'SDKPHONE');
    const sender = await register(ts.url, 'SENDER');
    const { client, proxy } = await startSdkClient(recipient, mode);
    const tag = `${mode}-run`;
    const received: number[] = [];
    client.on(ClientEvent.ToDeviceEvent, (event: MatrixEvent) => {
      const content = event.getContent<{ tag?: string; n?: number }>();
      if (event.getType() === 'org.example.tagged' && content.tag === tag && typeof content.n === 'number') received.push(content.n);
    });
    // Several bursts, so some arrive while the client long polls and some queue up between its requests.
    for (let burst = 0; burst < 4; burst += 1) await sendTagged(sender, recipient, tag, burst * 30, burst * 30 + 30);
    // A last message after the 120: once it is in, any duplicate of an earlier one would have arrived before it.
    await sendTagged(sender, recipient, tag, MESSAGE_COUNT, MESSAGE_COUNT + 1);
    await until(client, () => received.includes(MESSAGE_COUNT), [ClientEvent.ToDeviceEvent]);
    expect(received).toEqual(Array.from({ length: MESSAGE_COUNT + 1 }, (_, n) => n));
    expect(client.getSyncState()).toBe(SyncState.Syncing);
    expectOnlyRecognisedRequests(proxy);
    const asked = new Set(proxy.requests.map(traceLine));
    expect(asked).toContain('GET /_matrix/client/versions');
    expect(asked).toContain('GET /_matrix/client/v3/pushrules/');
    expect(asked).toContain(
      mode === 'classic' ? 'GET /_matrix/client/v3/sync' : 'POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync',
    );
  });

  it(`js-sdk client (${mode}): sees a room it was invited to, joins it, and has its state, members, name and timeline`, async () => {
    const alice = await register(ts.url, 'SDKALICE');
    const bob = await register(ts.url, 'BOBDEV');
    const { client, proxy } = await startSdkClient(alice, mode);
    const created = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', {
      token: bob.accessToken,
      body: { name: 'Planning', topic: 'what next', preset: 'private_chat', invite: [alice.userId] },
    });
    expect(created.status).toBe(200);
    const roomId: string = created.body.room_id;
    const membership = (): string | undefined => client.getRoom(roomId)?.getMyMembership();
    await until(client, () => membership() === 'invite', [ClientEvent.Room, RoomEvent.MyMembership, ClientEvent.Sync]);
    expect(client.getRoom(roomId)?.name).toBe('Planning');
    expect(client.getRoom(roomId)?.getMember(alice.userId)?.events.member?.getSender()).toBe(bob.userId);

    await client.joinRoom(roomId);
    await until(client, () => membership() === 'join' && client.getRoom(roomId)?.getJoinedMemberCount() === 2, [RoomEvent.MyMembership, ClientEvent.Sync]);
    const sent = await api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/hello-1`, {
      token: bob.accessToken,
      body: { msgtype: 'm.text', body: 'hello alice' },
    });
    const timelineBodies = (): unknown[] =>
      (client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []).filter((e) => e.getType() === 'm.room.message').map((e) => e.getContent().body);
    await until(client, () => timelineBodies().includes('hello alice'), [RoomEvent.Timeline, ClientEvent.Sync]);

    const room = client.getRoom(roomId);
    expect(room?.name).toBe('Planning');
    expect(room?.currentState.getStateEvents('m.room.topic', '')?.getContent()).toEqual({ topic: 'what next' });
    expect(room?.currentState.getStateEvents('m.room.create', '')?.getSender()).toBe(bob.userId);
    expect(room?.currentState.getStateEvents('m.room.join_rules', '')?.getContent()).toEqual({ join_rule: 'invite' });
    expect(room?.currentState.getStateEvents('m.room.history_visibility', '')?.getContent()).toEqual({ history_visibility: 'shared' });
    expect(room?.getMember(bob.userId)?.powerLevel).toBe(100);
    expect(room?.getMember(alice.userId)?.powerLevel).toBe(0);
    expect(room?.getJoinedMembers().map((member) => member.userId).sort()).toEqual([alice.userId, bob.userId].sort());
    const last = room?.getLiveTimeline().getEvents().at(-1);
    expect(last?.getId()).toBe(sent.body.event_id);
    expect(last?.getSender()).toBe(bob.userId);
    expect(timelineBodies()).toEqual(['hello alice']);
    expect(client.getSyncState()).toBe(SyncState.Syncing);
    expectOnlyRecognisedRequests(proxy);
  });
});
