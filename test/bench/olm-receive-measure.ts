// Measurement (not a test): what receiving Olm-encrypted to-device events costs the main process's engine.
//
//   npx tsx test/bench/olm-receive-measure.ts [--events N] [--runs R]
//
// One in-process reference homeserver on 127.0.0.1, a receiver whose store and engine are built as the main sync
// process builds them (src/device/olm-device.ts, explicit-lease, synchronous=FULL), and a libolm sender that
// queries our device, claims a one-time key and sends N Olm-encrypted m.room_key events (pre-key messages, as a
// sender sends until it hears back). The engine drains them with syncUntilCaughtUp; the same drain of N plaintext
// to-device events into a fresh store is the baseline. Also: the process start cost of opening the device's Olm
// state (libolm load, pickle key, account creation) and its first key upload (50 one-time keys). Prints a table;
// medians over R runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { signedDeviceKeys } from '../../src/crypto/olm-account';
import { verifyDeviceKeys } from '../../src/crypto/olm-device-keys';
import { loadOlm, olm } from '../../src/crypto/olm-library';
import { openOlmDevice } from '../../src/device/olm-device';
import { createProcessEngine } from '../../src/engine/create-engine';
import { MatrixClient } from '../../src/engine/matrix-client';
import { startHomeserver } from '../../src/homeserver/homeserver';
import { OLM_ALGORITHM } from '../../src/shared/olm-wire';
import { readOlmStats } from '../../src/store/olm-stats';
import { openStore } from '../../src/store/open-store';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const events = option('events', 2000);
const runs = option('runs', 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface RunFigures {
  openMs: number;
  publishMs: number;
  olmDrainMs: number;
  plainDrainMs: number;
  decrypted: number;
}

let counter = 0;

async function register(url: string, deviceId: string): Promise<{ client: MatrixClient; userId: string; deviceId: string; accessToken: string }> {
  counter += 1;
  const anonymous = new MatrixClient({ baseUrl: url });
  const login = await anonymous.register({ username: `measure${counter}${Math.random().toString(36).slice(2, 6)}`, password: 'pw', deviceId });
  if (!login.ok) throw new Error(`register: ${JSON.stringify(login.error)}`);
  return { client: anonymous.withAccessToken(login.value.access_token), userId: login.value.user_id, deviceId: login.value.device_id, accessToken: login.value.access_token };
}

async function receiver(url: string, dir: string, withOlm: boolean) {
  const who = await register(url, 'PHONE');
  const store = openStore(path.join(dir, `${who.userId.slice(1, 12)}.sqlite`), { synchronous: 'FULL' });
  const account = { homeserverUrl: url, userId: who.userId, deviceId: who.deviceId, accessToken: who.accessToken };
  let openMs = 0;
  let publishMs = 0;
  let hooks = {};
  if (withOlm) {
    const started = performance.now();
    const opened = await openOlmDevice({ store, account, strategy: 'explicit-lease', processName: 'main' });
    if (!opened.ok) throw new Error(opened.error);
    openMs = performance.now() - started;
    const publishing = performance.now();
    const published = await opened.value.publish(who.client);
    if (published.kind !== 'published') throw new Error(`publish: ${published.kind}`);
    publishMs = performance.now() - publishing;
    hooks = opened.value.engineHooks();
  }
  const { engine } = createProcessEngine({ store, account, processName: 'main', strategy: 'explicit-lease', env: {}, olm: hooks, tuning: { logEvents: false } });
  return { who, store, engine, openMs, publishMs };
}

async function oneRun(url: string): Promise<RunFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-olm-measure-'));
  try {
    // Olm: a libolm sender device, its keys on the server, one session with our device.
    const ours = await receiver(url, dir, true);
    const sender = await register(url, 'SENDER');
    const account = new (olm().Account)();
    account.create();
    const identity = JSON.parse(account.identity_keys()) as { curve25519: string; ed25519: string };
    const uploaded = await sender.client.uploadKeys({ device_keys: signedDeviceKeys(account, sender) });
    if (!uploaded.ok) throw new Error('sender upload');
    const query = await sender.client.queryKeys({ device_keys: { [ours.who.userId]: [] } });
    if (!query.ok) throw new Error('sender query');
    const theirs = verifyDeviceKeys(ours.who.userId, ours.who.deviceId, query.value.device_keys[ours.who.userId]?.[ours.who.deviceId]);
    if (!theirs.ok) throw new Error(theirs.error);
    const claim = await sender.client.claimKeys({ one_time_keys: { [ours.who.userId]: { [ours.who.deviceId]: 'signed_curve25519' } } });
    if (!claim.ok) throw new Error('sender claim');
    const oneTimeKey = Object.values(claim.value.one_time_keys[ours.who.userId]?.[ours.who.deviceId] ?? {})[0] as { key: string };
    const session = new (olm().Session)();
    session.create_outbound(account, theirs.value.curve25519, oneTimeKey.key);
    // The first event makes our device learn the sender (unknown-device, then /keys/query): outside the timing.
    const sendOne = async (n: number): Promise<void> => {
      const payload = {
        type: 'm.room_key',
        content: { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!measure:localhost', session_id: `s${n}`, session_key: `k${n}` },
        sender: sender.userId,
        recipient: ours.who.userId,
        recipient_keys: { ed25519: theirs.value.ed25519 },
        keys: { ed25519: identity.ed25519 },
      };
      const message = session.encrypt(JSON.stringify(payload));
      const content = { algorithm: OLM_ALGORITHM, sender_key: identity.curve25519, ciphertext: { [theirs.value.curve25519]: { type: message.type, body: message.body } } };
      const sent = await sender.client.sendToDevice('m.room.encrypted', `m${n}`, { [ours.who.userId]: { [ours.who.deviceId]: content } });
      if (!sent.ok) throw new Error('send');
    };
    await sendOne(0);
    await ours.engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    const opened = await openOlmDevice({ store: ours.store, account: { userId: ours.who.userId, deviceId: ours.who.deviceId }, strategy: 'explicit-lease', processName: 'measure' });
    if (!opened.ok) throw new Error(opened.error);
    await opened.value.resolveUnknownDevices(ours.who.client);
    for (let n = 1; n <= events; n += 1) await sendOne(n);
    const olmStarted = performance.now();
    await ours.engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    const olmDrainMs = performance.now() - olmStarted;
    const decrypted = readOlmStats(ours.store).decrypted;
    session.free();
    account.free();
    ours.store.close();

    // Plaintext baseline: the same number of to-device events, no Olm.
    const plain = await receiver(url, dir, false);
    for (let n = 1; n <= events; n += 1) {
      const sent = await sender.client.sendToDevice('m.test', `p${n}`, { [plain.who.userId]: { [plain.who.deviceId]: { n } } });
      if (!sent.ok) throw new Error('send plain');
    }
    const plainStarted = performance.now();
    await plain.engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    const plainDrainMs = performance.now() - plainStarted;
    plain.store.close();
    return { openMs: ours.openMs, publishMs: ours.publishMs, olmDrainMs, plainDrainMs, decrypted };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await loadOlm();
  const server = await startHomeserver({ dbPath: ':memory:', port: 0, log: () => undefined });
  try {
    const figures: RunFigures[] = [];
    for (let run = 0; run < runs; run += 1) figures.push(await oneRun(server.url));
    const olmMs = median(figures.map((f) => f.olmDrainMs));
    const plainMs = median(figures.map((f) => f.plainDrainMs));
    const lines = [
      `receiving ${events} to-device events, medians of ${runs} runs (load average ${os.loadavg().map((n) => n.toFixed(1)).join(' ')}, ${os.cpus().length} cores)`,
      `open the device's Olm state (libolm load, pickle key, new account)  ${median(figures.map((f) => f.openMs)).toFixed(1)} ms`,
      `first key upload (device keys, 50 one-time keys, fallback key)     ${median(figures.map((f) => f.publishMs)).toFixed(1)} ms`,
      `drain, Olm-encrypted m.room_key (pre-key messages)                  ${olmMs.toFixed(0)} ms  ${((events / olmMs) * 1000).toFixed(0)} events/s`,
      `drain, plaintext                                                    ${plainMs.toFixed(0)} ms  ${((events / plainMs) * 1000).toFixed(0)} events/s`,
      `Olm rate / plaintext rate                                           ${(plainMs / olmMs).toFixed(2)}`,
      `added per Olm event (decrypt at commit, session write, replay hash) ${((olmMs - plainMs) / events).toFixed(2)} ms`,
      `decrypted (counter, each run)                                       ${figures.map((f) => f.decrypted).join(', ')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.close();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
