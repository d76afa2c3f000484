/**
 * What real Olm costs the sending side: creating an `OlmMachine` sender (its `/keys/upload`), the first key share
 * to a device (`/keys/query`, `/keys/claim`, the Olm pre-key message, `/sendToDevice`), every later share (a new
 * Megolm session over the existing Olm session), and one Olm-encrypted tagged to-device message.
 *
 * Runtime: node. Run: `npx tsx src/bench/olm-sender-cost.ts [--runs N] [--shares M]` (default 10 and 20). The
 * homeserver runs in this process on 127.0.0.1 (its cost is in every figure alike); each run uses a fresh sender
 * and a fresh receiving device whose keys our Olm core publishes. Every key shared in a run is then decrypted by
 * the receiver's commit-time decryptor, and any failure fails the script, so the figures are of keys that work.
 * Prints medians in milliseconds and the machine's load average.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { OlmIdentity } from '../crypto/olm-account';
import { decryptToDeviceBatch } from '../crypto/olm-decrypt';
import { saveQueriedDevices } from '../crypto/olm-device-keys';
import { ensureOlmAccount, publishKeys } from '../crypto/olm-keys';
import { loadOlm } from '../crypto/olm-library';
import { describeOlmSenderError, OlmMachineSender } from '../crypto/olm-machine-sender';
import { PickleKey } from '../crypto/pickle-key';
import { MatrixClient, type MatrixClientError } from '../engine/matrix-client';
import { startHomeserver } from '../homeserver/homeserver';
import type { OlmStateStore } from '../shared/olm-state';
import { openOlmState } from '../store/olm-state';
import { openStore } from '../store/open-store';
import { median } from './stats';

interface RunFigures {
  createMs: number;
  firstShareMs: number;
  laterShareMs: number[];
  toDeviceMs: number[];
}

const describe = (error: unknown): string => JSON.stringify(error);

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

async function register(baseUrl: string, username: string, deviceId: string): Promise<MatrixClient> {
  const anonymous = new MatrixClient({ baseUrl });
  const login = await anonymous.register({ username, password: 'pw', deviceId });
  if (!login.ok) throw new Error(`register ${username}: ${describe(login.error)}`);
  return anonymous.withAccessToken(login.value.access_token);
}

async function oneRun(baseUrl: string, dir: string, run: number, shares: number): Promise<RunFigures> {
  const receiverClient = await register(baseUrl, `receiver${run}`, 'PHONE');
  const store = openStore(path.join(dir, `receiver${run}.sqlite`));
  try {
    const state = openOlmState(store);
    const pickleKey = PickleKey.generate();
    const userId = `@receiver${run}:localhost`;
    const identity = ensureOlmAccount(state, pickleKey, { userId, deviceId: 'PHONE' }, Date.now());
    if (!identity.ok) throw new Error(identity.error.message);
    const published = await publishKeys({ state, pickleKey, uploader: receiverClient, holder: 'bench', nowMs: Date.now });
    if (published.kind !== 'published') throw new Error(`publishKeys: ${published.kind}`);
    const recipient = { userId, deviceId: 'PHONE' };

    const senderClient = await register(baseUrl, `sender${run}`, 'SENDER');
    const room = await senderClient.createRoom({});
    if (!room.ok) throw new Error(`createRoom: ${describe(room.error)}`);
    const created = await timed(() => OlmMachineSender.create<MatrixClientError>({ userId: `@sender${run}:localhost`, deviceId: 'SENDER', transport: senderClient }));
    if (!created.value.ok) throw new Error(describeOlmSenderError(created.value.error, describe));
    const sender = created.value.value;
    try {
      const share = async (sharing: typeof sender): Promise<number> => {
        const shared = await timed(() => sharing.encryptRoomMessage(room.value.roomId, recipient, 'm.room.message', { msgtype: 'm.text', body: 'x' }));
        if (!shared.value.ok) throw new Error(describeOlmSenderError(shared.value.error, describe));
        return shared.ms;
      };
      const firstShareMs = await share(sender);
      const laterShareMs: number[] = [];
      const toDeviceMs: number[] = [];
      for (let i = 0; i < shares; i += 1) {
        laterShareMs.push(await share(sender));
        const sent = await timed(async () => {
          const content = await sender.encryptToDevice(recipient, 'org.todevice.demo', { tag: `t${i}`, sent_at_ms: Date.now() });
          if (!content.ok) throw new Error(describeOlmSenderError(content.error, describe));
          return senderClient.sendToDevice('m.room.encrypted', `bench-${i}`, { [userId]: { PHONE: content.value } });
        });
        if (!sent.value.ok) throw new Error(describe(sent.value.error));
        toDeviceMs.push(sent.ms);
      }
      await checkDecrypted(receiverClient, state, pickleKey, identity.value, 1 + shares * 2);
      return { createMs: created.ms, firstShareMs, laterShareMs, toDeviceMs };
    } finally {
      sender.close();
    }
  } finally {
    store.close();
  }
}

/** Fetches everything the receiver was sent and decrypts it at commit; every Olm event must decrypt. */
async function checkDecrypted(
  client: MatrixClient,
  state: OlmStateStore,
  pickleKey: PickleKey,
  identity: OlmIdentity,
  expected: number,
): Promise<void> {
  const events = [];
  let since: string | undefined;
  for (let round = 0; round < 100 && events.length < expected; round += 1) {
    const batch = await client.classicSync({ ...(since === undefined ? {} : { since }), timeoutMs: 1000 });
    if (!batch.ok) throw new Error(`sync: ${describe(batch.error)}`);
    since = batch.value.nextBatch;
    events.push(...batch.value.events);
  }
  if (events.length !== expected) throw new Error(`the receiver got ${events.length} events, expected ${expected}`);
  const senders = [...new Set(events.map((event) => event.sender))];
  const queried = await client.queryKeys({ device_keys: Object.fromEntries(senders.map((sender) => [sender, []])) });
  if (!queried.ok) throw new Error(`keys/query: ${describe(queried.error)}`);
  saveQueriedDevices(state, queried.value, identity, Date.now());
  const rows = decryptToDeviceBatch({ state, pickleKey, identity, nowMs: Date.now() }, events);
  const failed = rows.filter((row) => row.decryptionError !== undefined);
  if (failed.length > 0) throw new Error(`${failed.length} events did not decrypt: ${failed[0]?.decryptionError}`);
}

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

export interface OlmSenderCosts {
  runs: number;
  shares: number;
  /** Medians in milliseconds. */
  createMs: number;
  firstShareMs: number;
  laterShareMs: number;
  toDeviceMs: number;
}

/** Runs the measurement against a homeserver in this process; throws if any key or message did not decrypt. */
export async function measureOlmSenderCosts(runs: number, shares: number): Promise<OlmSenderCosts> {
  await loadOlm();
  const server = await startHomeserver({ dbPath: ':memory:', port: 0, log: () => undefined });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-olm-sender-cost-'));
  try {
    const figures: RunFigures[] = [];
    for (let run = 0; run < runs; run += 1) figures.push(await oneRun(server.url, dir, run, shares));
    return {
      runs,
      shares,
      createMs: median(figures.map((f) => f.createMs)),
      firstShareMs: median(figures.map((f) => f.firstShareMs)),
      laterShareMs: median(figures.flatMap((f) => f.laterShareMs)),
      toDeviceMs: median(figures.flatMap((f) => f.toDeviceMs)),
    };
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function formatOlmSenderCosts(costs: OlmSenderCosts): string {
  const load = os.loadavg().map((n) => n.toFixed(1)).join(' ');
  const line = (name: string, ms: number): string => `${name.padEnd(44)} ${ms.toFixed(1).padStart(8)}`;
  return [
    `Olm sender costs, medians over ${costs.runs} runs x ${costs.shares} shares (load average ${load}, ${os.cpus().length} cores)`,
    `${'step'.padEnd(44)} ${'ms'.padStart(8)}`,
    line('create sender (OlmMachine + /keys/upload)', costs.createMs),
    line('first share (query, claim, pre-key, send)', costs.firstShareMs),
    line('later share (new session, Olm, send)', costs.laterShareMs),
    line('Olm to-device message (encrypt + send)', costs.toDeviceMs),
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  measureOlmSenderCosts(flag('--runs', 10), flag('--shares', 20))
    .then((costs) => process.stdout.write(`${formatOlmSenderCosts(costs)}\n`))
    .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
