/**
 * The world one strategy run happens in: a fresh embedded homeserver, the receiving device's data directory
 * (the shared SQLite store, with the account the main process and notifiers read), several sending devices in
 * one room with the receiver, and the app's push dispatch (push gateway + pusher) launching notifiers through
 * the harness's launcher.
 *
 * Runtime: node. Each run gets its own homeserver and directory, so strategies never see each other's queues or
 * counters. The push dispatch is the app's own module (src/main/host/push-dispatch.ts) hosted in the harness
 * process: it must outlive main's crashes, like the OS push service it stands for.
 */
import type { CompatMode } from '../homeserver/context';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MatrixClient } from '../engine/matrix-client';
import { AdminClient } from '../homeserver/admin-client';
import { startHomeserver, type RunningHomeserver } from '../homeserver/homeserver';
import { ensureStoredAccount } from '../main/host/account-setup';
import { startPushDispatch, type PushDispatch } from '../main/host/push-dispatch';
import type { Account } from '../store/account';
import { CLIENT_DB_FILE } from '../shared/data-layout';
import type { Strategy } from '../shared/strategies';
import { openStore, type ClientStore } from '../store/open-store';
import { HARNESS_RETENTION, writeRetentionPolicy } from '../store/retention-policy';
import { publishDeviceKeysAtFirstStart } from './device-first-start';
import type { FaultyNotifierLauncher } from './notifier-faults';
import type { SendingDevice } from './traffic';

export const RECEIVER_DEVICE = 'PHONE';

export interface RaceWorld {
  server: RunningHomeserver;
  admin: AdminClient;
  dataDir: string;
  dbPath: string;
  /** The harness's own read connection to the shared store (oracle and checkers). */
  store: ClientStore;
  account: Account;
  senders: SendingDevice[];
  roomId: string;
  push: PushDispatch;
  serverLog: string[];
  close(): Promise<void>;
}

export async function startWorld(
  strategy: Strategy,
  senderCount: number,
  launcher: FaultyNotifierLauncher,
  compat: CompatMode = 'todevice',
): Promise<RaceWorld> {
  const serverLog: string[] = [];
  const server = await startHomeserver({ dbPath: ':memory:', port: 0, compat, log: (line) => serverLog.length < 200 && serverLog.push(line) });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `todevice-race-${strategy}-`));
  const dbPath = path.join(dataDir, CLIENT_DB_FILE);
  const store = openStore(dbPath);
  const closeBase = async (): Promise<void> => {
    store.close();
    await server.close();
    // TODEVICE_RACE_KEEP=1 keeps the data directory (store and event log) for a post-mortem.
    if (process.env.TODEVICE_RACE_KEEP === undefined) fs.rmSync(dataDir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dataDir}\n`);
  };
  try {
    // The oracles read the whole of `handled`, `notifications` and `timeline` after the run: keep all of it.
    writeRetentionPolicy(store, HARNESS_RETENTION);
    const account = await ensureStoredAccount(store, { homeserverUrl: server.url, user: 'phone', password: 'pw', deviceId: RECEIVER_DEVICE, register: true });
    if (!account.ok) throw new Error(`receiver registration failed: ${account.error.message}`);
    // Senders that share keys over Olm need the device's keys before the first share, whatever the schedule does.
    await publishDeviceKeysAtFirstStart(store, account.value);
    const senders = await registerSenders(server.url, senderCount);
    const roomId = await sharedRoom(senders, account.value);
    const push = await startPushDispatch({ account: account.value, dataDir, strategy, launcher });
    return {
      server,
      admin: new AdminClient(server.url, server.adminToken),
      dataDir,
      dbPath,
      store,
      account: account.value,
      senders,
      roomId,
      push,
      serverLog,
      close: async () => {
        await push.close();
        await closeBase();
      },
    };
  } catch (error) {
    await closeBase();
    throw error;
  }
}

async function registerSenders(url: string, count: number): Promise<SendingDevice[]> {
  const anonymous = new MatrixClient({ baseUrl: url });
  const senders: SendingDevice[] = [];
  for (let i = 0; i < count; i += 1) {
    const login = await anonymous.register({ username: `sender${i}`, password: 'pw', deviceId: `SENDER${i}` });
    if (!login.ok) throw new Error(`sender ${i} registration failed: ${JSON.stringify(login.error)}`);
    senders.push({ client: anonymous.withAccessToken(login.value.access_token), userId: login.value.user_id, deviceId: `SENDER${i}` });
  }
  return senders;
}

/** Sender 0 creates the room and invites everyone; the others and the receiver join. */
async function sharedRoom(senders: readonly SendingDevice[], receiver: Account): Promise<string> {
  const [first, ...others] = senders;
  if (first === undefined) throw new Error('at least one sender is needed');
  const room = await first.client.createRoom({ invite: [receiver.userId, ...others.map((s) => s.userId)] });
  if (!room.ok) throw new Error(`createRoom failed: ${JSON.stringify(room.error)}`);
  const receiverClient = new MatrixClient({ baseUrl: receiver.homeserverUrl, accessToken: receiver.accessToken });
  for (const client of [receiverClient, ...others.map((s) => s.client)]) {
    const joined = await client.joinRoom(room.value.roomId);
    if (!joined.ok) throw new Error(`join failed: ${JSON.stringify(joined.error)}`);
  }
  return room.value.roomId;
}
