/**
 * The world every benchmark case runs in: one reference homeserver, started as its own OS process with the real
 * `todevice serve` command (`node bin/todevice.mjs serve --port 0 --db <file> --quiet`) on a real SQLite file
 * (WAL, `synchronous = FULL`, as it always runs), a temporary directory for client stores, and the accounts the
 * cases use.
 *
 * Runtime: node. Why a process of its own: that is how it is deployed (a homeserver never shares an event loop
 * with its clients). The server's SQLite calls are synchronous, so in the bench's own process every fsync it
 * paid stalled the measured client and the sender too, and the client's commits stalled the server: the
 * latency case measured three processes' work serialised on one thread. Every baseline is measured against
 * this same server process from the same bench process (the bare round trip, the in-memory engine,
 * matrix-js-sdk), so the comparisons stay like for like.
 *
 * Backlogs for the drain cases are queued by `queueBacklog`, which opens a second connection to the
 * homeserver's database file (SQLite's own file locking coordinates it with the server process) and calls the
 * homeserver's own `ToDeviceQueue.enqueue` (the function the `sendToDevice` route calls) for every message, in
 * one transaction. The rows are exactly those 100,000 HTTP requests would queue; only the request overhead is
 * skipped, because that cost is what case 6 measures over the real HTTP path, and paying it for every drain
 * would make the default run take many minutes. The long-poll waiters are not woken by it, which is why
 * backlogs are queued only while nobody polls the device. One transaction of 100,000 rows leaves some 40 MB in
 * the server's WAL, which the server would copy into its database file inside the first commit of the drain
 * that follows (a stall of a few hundred milliseconds, of varying length, landing on whichever client drains
 * next); requests arriving one by one would have been checkpointed a thousand pages at a time as they came. So
 * `queueBacklog` checkpoints the server's WAL itself before it returns, outside any measured interval.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MatrixClient } from '../engine/matrix-client';
import { openDatabase } from '../homeserver/db';
import { ToDeviceQueue, type QueuedMessage } from '../homeserver/to-device-queue';
import type { Account } from '../store/account';

export const BENCH_EVENT_TYPE = 'org.todevice.bench';
export const RECIPIENT_USER = 'bench-phone';
const PASSWORD = 'bench password';
const SERVER_NAME = 'localhost';
const SERVER_START_BOUND_MS = 30_000;
const SERVER_STOP_BOUND_MS = 10_000;

/** The homeserver process, as `todevice serve` announced itself on its first stdout line. */
export interface BenchServer {
  url: string;
  serverName: string;
  pid: number;
}

export interface BenchWorld {
  server: BenchServer;
  dir: string;
  serverDbPath: string;
  recipientUserId: string;
  /** Logs a device of the recipient in (creating it) and returns its account. */
  device(deviceId: string): Promise<Account>;
  /** A registered sending user with its own client. */
  sender(name: string): Promise<{ client: MatrixClient; userId: string; deviceId: string }>;
  /** Queues `count` messages for `deviceId` through the homeserver's own queue (see the module header). */
  queueBacklog(deviceId: string, count: number, firstIndex?: number): void;
  /**
   * Adds devices (no access tokens) to a registered user, with the row login writes (account-routes.ts), in one
   * transaction: the scaling case needs 10,000 devices of one user, which 10,000 logins would take a minute for.
   */
  registerDevices(userId: string, deviceIds: readonly string[]): void;
  /** Queues these messages for `deviceId` in one transaction, the same way (for backlogs of other content). */
  queueMessages(deviceId: string, messages: ReadonlyArray<{ type: string; sender: string; content: Record<string, unknown> }>): void;
  close(): Promise<void>;
}

/** A to-device message body about the size of a room key share (roughly 300 bytes of JSON). */
export function benchContent(index: number): Record<string, unknown> {
  return {
    tag: `bench-${index}`,
    index,
    algorithm: 'm.megolm.v1.aes-sha2',
    room_id: '!benchroom:localhost',
    session_id: `session-${index % 97}`,
    session_key: 'k'.repeat(160),
  };
}

const cliEntry = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));

interface ServerProcess {
  server: BenchServer;
  stop(): Promise<void>;
}

/** Starts `todevice serve` as a child process and waits (bounded) for its announcement line. */
async function startServerProcess(dbPath: string): Promise<ServerProcess> {
  const args = [cliEntry, 'serve', '--port', '0', '--db', dbPath, '--server-name', SERVER_NAME, '--quiet'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let timer: NodeJS.Timeout | undefined;
  try {
    const firstLine = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
      void exited.then((code) => reject(new Error(`bench: todevice serve exited (${String(code)}) before listening: ${stderr}`)));
      timer = setTimeout(() => reject(new Error(`bench: todevice serve did not announce itself within ${SERVER_START_BOUND_MS} ms`)), SERVER_START_BOUND_MS);
    });
    const info = JSON.parse(firstLine) as { url: string; server_name: string };
    return { server: { url: info.url, serverName: info.server_name, pid: child.pid ?? -1 }, stop: () => stopServerProcess(child, exited) };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM (the clean shutdown `todevice serve` handles), SIGKILL if it has not exited within a bound. */
async function stopServerProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), SERVER_STOP_BOUND_MS)));
  const outcome = await Promise.race([exited, bound]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function startBenchWorld(): Promise<BenchWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-bench-'));
  const serverDbPath = path.join(dir, 'homeserver.db');
  const { server, stop } = await startServerProcess(serverDbPath);
  const anonymous = new MatrixClient({ baseUrl: server.url });
  const registered = await anonymous.register({ username: RECIPIENT_USER, password: PASSWORD, deviceId: 'BENCH-SETUP' });
  if (!registered.ok) throw new Error(`bench: register ${RECIPIENT_USER}: ${JSON.stringify(registered.error)}`);
  const recipientUserId = registered.value.user_id;
  const queueDb = openDatabase(serverDbPath, server.serverName).db;
  const queue = new ToDeviceQueue(queueDb);
  const queueMessages: BenchWorld['queueMessages'] = (deviceId, messages) => {
    const queued: QueuedMessage[] = messages.map((message) => ({ userId: recipientUserId, deviceId, ...message }));
    queueDb.transaction(() => queue.enqueue(queued)).immediate();
    queueDb.pragma('wal_checkpoint(TRUNCATE)');
  };
  return {
    server,
    dir,
    serverDbPath,
    recipientUserId,
    async device(deviceId) {
      const login = await anonymous.login({ user: RECIPIENT_USER, password: PASSWORD, deviceId });
      if (!login.ok) throw new Error(`bench: login ${deviceId}: ${JSON.stringify(login.error)}`);
      return { homeserverUrl: server.url, userId: login.value.user_id, deviceId, accessToken: login.value.access_token };
    },
    async sender(name) {
      const result = await anonymous.register({ username: name, password: PASSWORD, deviceId: `${name}-DEV` });
      if (!result.ok) throw new Error(`bench: register ${name}: ${JSON.stringify(result.error)}`);
      return { client: anonymous.withAccessToken(result.value.access_token), userId: result.value.user_id, deviceId: result.value.device_id };
    },
    queueBacklog(deviceId, count, firstIndex = 0) {
      const messages = Array.from({ length: count }, (_, i) => ({
        type: BENCH_EVENT_TYPE,
        sender: `@bench-sender-${i % 4}:${server.serverName}`,
        content: benchContent(firstIndex + i),
      }));
      queueMessages(deviceId, messages);
    },
    queueMessages,
    registerDevices(userId, deviceIds) {
      const insert = queueDb.prepare(
        `INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_ts = excluded.last_seen_ts`,
      );
      const nowMs = Date.now();
      queueDb.transaction(() => deviceIds.forEach((deviceId) => insert.run(userId, deviceId, null, nowMs, nowMs))).immediate();
      queueDb.pragma('wal_checkpoint(TRUNCATE)');
    },
    async close() {
      queueDb.close();
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
