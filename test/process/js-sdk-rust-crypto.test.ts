// Element Web's crypto stack sends to todevice: matrix-js-sdk 37.5 with `initRustCrypto()` (the matrix-rust-sdk
// crypto Element Web runs, in WebAssembly) started with `startClient()` against a real `todevice serve`, once with
// classic /v3/sync and once with its sliding sync. It creates two encrypted rooms (encryption in `createRoom`'s
// `initial_state`, and turned on later with `PUT /state`), invites the user of a real `todevice headless`, which
// joins with `todevice join`, and sends messages once it saw the join. The room keys must reach the todevice device
// as Olm-encrypted to-device events that its own Olm state decrypts, the main process's timeline
// (`todevice timeline --json`) must show every message decrypted, and the notifier each push started must show
// its plaintext. The server must only ever see ciphertext. Every request the SDK makes goes through a recording
// proxy, and none may be refused as unrecognised or answered with a server error. Tests wait for conditions.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoggerLevel, Tracing } from '@matrix-org/matrix-sdk-crypto-wasm';
import { createClient, MemoryStore, SyncState, type IStartClientOpts, type MatrixClient } from 'matrix-js-sdk';
import { logger as sdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';
import { SlidingSync } from 'matrix-js-sdk/lib/sliding-sync.js';
import { readOlmAccount } from '../../src/store/olm-account';
import { api, register, type TestUser } from '../conformance/support';
import { startRecordingProxy, traceLine, type RecordingProxy } from '../conformance/recording-proxy';
import { RECEIVER, runTodevice, startHeadless, startTestServer, tempDir, waitFor, waitForKeysPublished, withStore, type RunningProcess, type TestServer } from './support';

type SyncMode = 'classic' | 'sliding';

const TODEVICE_USER = `@${RECEIVER.user}:localhost`;
const OLM_ALGORITHM = 'm.olm.v1.curve25519-aes-sha2';
const MEGOLM_ALGORITHM = 'm.megolm.v1.aes-sha2';
// Generous: on a loaded two-core machine a headless host, its notifiers and the SDK share the cores.
const WAIT_MS = 60_000;
/** A test waits for several conditions in turn; its own limit leaves each of them its whole wait. */
const TEST_TIMEOUT_MS = 240_000;

const todevice = runTodevice;

let server: TestServer;
const cleanups: Array<() => Promise<void>> = [];
beforeEach(async () => {
  // Parts of the SDK log through its global logger: every request, and a warning per state event of a room whose
  // MatrixRTC (calls) state it has not set up yet. Errors are what a failing run needs from it.
  (sdkLogger as unknown as { setLevel(level: 'error'): void }).setLevel('error');
  server = await startTestServer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server.close();
});

async function startHost(): Promise<{ dataDir: string; host: RunningProcess }> {
  const dataDir = tempDir('js-sdk-rust');
  const host = await startHeadless(server.url, dataDir);
  cleanups.push(async () => {
    host.child.kill('SIGTERM');
    await host.exited;
  });
  // The SDK can only share a room key with a device that published its keys.
  await waitForKeysPublished(dataDir);
  return { dataDir, host };
}

/**
 * The SDK logs every request and every encryption step at debug level (its crypto also turns matrix-rust-sdk's
 * debug tracing on, lowered again once the crypto is up); warnings and errors are what a failing run needs.
 */
const quietLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (...message: unknown[]) => console.warn(...message),
  error: (...message: unknown[]) => console.error(...message),
  getChild: () => quietLogger,
};

/** matrix-js-sdk with rust crypto, started as Element Web starts it, through a recording proxy; PREPARED. */
async function startWebClient(user: TestUser, mode: SyncMode): Promise<{ client: MatrixClient; proxy: RecordingProxy }> {
  const proxy = await startRecordingProxy(server.url);
  const client = createClient({
    baseUrl: proxy.url,
    accessToken: user.accessToken,
    userId: user.userId,
    deviceId: user.deviceId,
    useAuthorizationHeader: true,
    store: new MemoryStore(),
    logger: quietLogger,
  });
  cleanups.push(async () => {
    client.stopClient();
    await proxy.close();
  });
  await client.initRustCrypto({ useIndexedDB: false });
  new Tracing(LoggerLevel.Warn).turnOn();
  const options: IStartClientOpts = {};
  if (mode === 'sliding') {
    const everything = { timeline_limit: 10, required_state: [['*', '*']] };
    options.slidingSync = new SlidingSync(proxy.url, new Map([['all', { ranges: [[0, 19]], ...everything }]]), everything, client, 10_000);
  }
  await client.startClient(options);
  await waitFor(() => [SyncState.Prepared, SyncState.Syncing].includes(client.getSyncState() as SyncState), WAIT_MS, () => `the SDK never reached PREPARED (${String(client.getSyncState())})`);
  return { client, proxy };
}

/** Accepts the invite with `todevice join` and waits until the SDK saw the join (only then does it share keys with us). */
async function joinAsTodevice(client: MatrixClient, dataDir: string, roomId: string): Promise<void> {
  await waitFor(() => client.getRoom(roomId)?.getMember(TODEVICE_USER)?.membership === 'invite', WAIT_MS, () => `the SDK never saw its invite of ${TODEVICE_USER}`);
  const joined = await todevice('join', '--data', dataDir, roomId);
  expect(joined.code, joined.stderr).toBe(0);
  await waitFor(() => client.getRoom(roomId)?.getMember(TODEVICE_USER)?.membership === 'join', WAIT_MS, () => `the SDK never saw ${TODEVICE_USER} join ${roomId}`);
}

interface TimelineJson {
  timeline: Array<{ event_id: string; room_id: string; sender: string; encrypted: boolean; status: string; body: string | null; reason?: string }>;
}

interface NotifierLine {
  notifier?: { kind: string; eventId?: string; body?: string; outcome?: string };
}

function notificationsOf(host: RunningProcess): Map<string, { body?: string; outcome?: string }> {
  const shown = new Map<string, { body?: string; outcome?: string }>();
  for (const line of host.lines as NotifierLine[]) {
    const report = line.notifier;
    if (report?.kind === 'notification' && report.eventId !== undefined) shown.set(report.eventId, { body: report.body, outcome: report.outcome });
  }
  return shown;
}

/** The m.room_key rows our device decrypted from Olm: the encryption they came under and the session they carry. */
function decryptedRoomKeys(dataDir: string): Array<{ algorithm: string; senderKey: string; senderDevice: string; roomId: string; sessionId: string }> {
  return withStore(dataDir, (store) =>
    (
      store
        .statement(
          `SELECT json_extract(encryption, '$.algorithm') AS algorithm, json_extract(encryption, '$.sender_key') AS senderKey,
                  json_extract(encryption, '$.sender_device_id') AS senderDevice, json_extract(content, '$.room_id') AS roomId,
                  json_extract(content, '$.session_id') AS sessionId
           FROM inbox WHERE type = 'm.room_key' AND encryption IS NOT NULL ORDER BY seq`,
        )
        .all() as Array<{ algorithm: string; senderKey: string; senderDevice: string; roomId: string; sessionId: string }>
    ),
  );
}

function decryptedBodies(dataDir: string): number {
  return withStore(dataDir, (store) => (store.statement('SELECT count(*) AS n FROM timeline WHERE session_id IS NOT NULL AND body IS NOT NULL').get() as { n: number }).n);
}

describe.each<SyncMode>(['classic', 'sliding'])('matrix-js-sdk rust crypto (%s sync) sends to todevice', (mode) => {
  it(`js-sdk rust crypto (${mode}): room keys arrive Olm-encrypted, main's timeline and every notifier show the plaintext`, async () => {
    const { dataDir, host } = await startHost();
    const alice = await register(server.url, 'ELEMENTWEB');
    const { client, proxy } = await startWebClient(alice, mode);
    const crypto = client.getCrypto();
    if (crypto === undefined) throw new Error('initRustCrypto left the client without crypto');

    // A room encrypted from its creation, as Element Web creates one.
    const { room_id: fromStart } = await client.createRoom({
      name: 'encrypted from the start',
      invite: [TODEVICE_USER],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM_ALGORITHM } }],
    });
    await joinAsTodevice(client, dataDir, fromStart);
    const sent: Array<{ roomId: string; eventId: string; body: string }> = [];
    for (const body of ['first words', 'second words']) sent.push({ roomId: fromStart, eventId: (await client.sendTextMessage(fromStart, body)).event_id, body });

    // A room whose encryption is turned on after the join (a state event, as the room settings do).
    const { room_id: later } = await client.createRoom({ name: 'encrypted later', invite: [TODEVICE_USER] });
    await joinAsTodevice(client, dataDir, later);
    await client.sendStateEvent(later, 'm.room.encryption' as never, { algorithm: MEGOLM_ALGORITHM } as never, '');
    // Until its crypto has seen the state event the SDK would send in the clear, so the test waits for it.
    await waitFor(() => crypto.isEncryptionEnabledInRoom(later), WAIT_MS, () => 'the SDK never saw encryption turned on');
    sent.push({ roomId: later, eventId: (await client.sendTextMessage(later, 'third words')).event_id, body: 'third words' });

    // The server saw ciphertext only.
    for (const { roomId, eventId } of sent) {
      const stored = await api(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`, { token: alice.accessToken });
      expect([stored.body.type, stored.body.content.algorithm]).toEqual(['m.room.encrypted', MEGOLM_ALGORITHM]);
    }

    await waitFor(() => decryptedBodies(dataDir) >= sent.length, WAIT_MS, () => `main decrypted ${decryptedBodies(dataDir)} of ${sent.length} messages: ${host.stderr.join('\n')}`);
    const shown = await todevice('timeline', '--data', dataDir, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    const timeline = (JSON.parse(shown.stdout) as TimelineJson).timeline;
    const entries = sent.map(({ eventId }) => timeline.find((entry) => entry.event_id === eventId));
    expect(entries.map((entry) => [entry?.room_id, entry?.sender, entry?.encrypted, entry?.body])).toEqual(sent.map(({ roomId, body }) => [roomId, alice.userId, true, body]));
    // A message paged before its key counts as decrypted (within the grace period) or late, never as lost.
    for (const entry of entries) expect(['decrypted', 'late']).toContain(entry?.status);

    // The keys came Olm-encrypted from the SDK's own device, and each message's Megolm session is among them.
    const ownKeys = await crypto.getOwnDeviceKeys();
    const keys = decryptedRoomKeys(dataDir);
    expect(new Set(keys.map((key) => [key.algorithm, key.senderKey, key.senderDevice].join(' ')))).toEqual(new Set([[OLM_ALGORITHM, ownKeys.curve25519, alice.deviceId].join(' ')]));
    const sessionOf = (eventId: string): string | undefined => withStore(dataDir, (store) => (store.statement('SELECT session_id FROM timeline WHERE event_id = ?').get(eventId) as { session_id: string } | undefined)?.session_id);
    for (const { roomId, eventId } of sent) expect(keys.filter((key) => key.roomId === roomId).map((key) => key.sessionId)).toContain(sessionOf(eventId));

    // The SDK knows the todevice device by the keys the todevice store holds (its device list tracking worked).
    const ourIdentity = withStore(dataDir, (store) => readOlmAccount(store));
    const known = (await crypto.getUserDeviceInfo([TODEVICE_USER], true)).get(TODEVICE_USER)?.get(RECEIVER.deviceId);
    expect(known?.getIdentityKey()).toBe(ourIdentity?.curve25519);
    expect(known?.getFingerprint()).toBe(ourIdentity?.ed25519);

    // Each push started a notifier, and each showed its message's plaintext.
    await waitFor(() => sent.every(({ eventId }) => notificationsOf(host).has(eventId)), WAIT_MS, () => `notifications: ${JSON.stringify([...notificationsOf(host)])}`);
    const notifications = notificationsOf(host);
    expect(sent.map(({ eventId }) => notifications.get(eventId))).toEqual(sent.map(({ body }) => ({ body, outcome: 'decrypted' })));

    expect(client.getSyncState()).toBe(SyncState.Syncing);
    expect(proxy.requests.filter((request) => request.errcode === 'M_UNRECOGNIZED' || request.status >= 500).map(traceLine)).toEqual([]);
    const asked = new Set(proxy.requests.map(traceLine));
    for (const endpoint of ['keys/upload', 'keys/query', 'keys/claim']) expect(asked).toContain(`POST /_matrix/client/v3/${endpoint}`);
    expect([...asked].some((line) => line.startsWith('PUT /_matrix/client/v3/sendToDevice/m.room.encrypted/'))).toBe(true);
  }, TEST_TIMEOUT_MS);

  it(`js-sdk rust crypto (${mode}): keys the todevice device publishes after it joined are learnt from device_lists and get the room key`, async () => {
    // The todevice account exists and has joined before its device has any key: the SDK tracks the member and
    // finds no device. Only the device list stream (`device_lists.changed`, for a member whose keys changed) can
    // tell it about the keys the host uploads later; its membership does not change again.
    const registered = await api(server.url, 'POST', '/_matrix/client/v3/register', {
      body: { username: RECEIVER.user, password: RECEIVER.password, device_id: RECEIVER.deviceId, auth: { type: 'm.login.dummy' } },
    });
    expect(registered.status).toBe(200);
    const alice = await register(server.url, 'ELEMENTWEB');
    const { client } = await startWebClient(alice, mode);
    const crypto = client.getCrypto();
    if (crypto === undefined) throw new Error('initRustCrypto left the client without crypto');
    const { room_id: roomId } = await client.createRoom({
      name: 'joined before its keys',
      invite: [TODEVICE_USER],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM_ALGORITHM } }],
    });
    const joined = await api(server.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: registered.body.access_token, body: {} });
    expect(joined.status).toBe(200);
    await waitFor(() => client.getRoom(roomId)?.getMember(TODEVICE_USER)?.membership === 'join', WAIT_MS, () => 'the SDK never saw the join');
    // Encrypting makes the SDK track the member and query it: no device yet, so this message is for nobody.
    const { event_id: tooEarly } = await client.sendTextMessage(roomId, 'before any key existed');
    const devices = async (): Promise<string[]> => [...((await crypto.getUserDeviceInfo([TODEVICE_USER])).get(TODEVICE_USER)?.keys() ?? [])];
    expect(await devices()).toEqual([]);

    const { dataDir, host } = await startHost();
    // A message sent before the SDK processed the change would still be for nobody, so wait until it knows the
    // device (with sliding sync it sends the query for a changed member only after its next sync).
    await waitFor(async () => (await devices()).includes(RECEIVER.deviceId), WAIT_MS, () => 'the SDK never learnt the keys the todevice device published');
    const { event_id: eventId } = await client.sendTextMessage(roomId, 'after the keys');
    await waitFor(() => decryptedBodies(dataDir) >= 1, WAIT_MS, () => `main decrypted nothing: ${host.stderr.join('\n')}`);
    const bodyOf = (id: string): unknown => withStore(dataDir, (store) => store.statement('SELECT body FROM timeline WHERE event_id = ?').get(id));
    expect([bodyOf(tooEarly), bodyOf(eventId)]).toEqual([{ body: null }, { body: 'after the keys' }]);
    await waitFor(() => notificationsOf(host).has(eventId), WAIT_MS, () => `notifications: ${JSON.stringify([...notificationsOf(host)])}`);
    expect(notificationsOf(host).get(eventId)).toEqual({ body: 'after the keys', outcome: 'decrypted' });
  }, TEST_TIMEOUT_MS);
});
