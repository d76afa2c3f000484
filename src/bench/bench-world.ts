/**
 * The world every benchmark case runs in: one reference homeserver on a real SQLite file (WAL, `synchronous =
 * FULL`, as `todevice serve` runs it) on 127.0.0.1 port 0, a temporary directory for client stores, and the
 * accounts the cases use.
 *
 * Runtime: node. Backlogs for the drain cases are queued by `queueBacklog`, which opens a second connection to
 * the homeserver's own database file and calls the homeserver's own `ToDeviceQueue.enqueue` (the function the
 * `sendToDevice` route calls) for every message, in one transaction. The rows are exactly those 100,000 HTTP
 * requests would queue; only the request overhead is skipped, because that cost is what case 6 measures over
 * the real HTTP path, and paying it four times over would make the default run take many minutes. The
 * long-poll waiters are not woken by it, which is why backlogs are queued only while nobody polls the device.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MatrixClient } from '../engine/matrix-client';
import { openDatabase } from '../homeserver/db';
import { startHomeserver, type RunningHomeserver } from '../homeserver/homeserver';
import { ToDeviceQueue, type QueuedMessage } from '../homeserver/to-device-queue';
import type { Account } from '../store/account';

export const BENCH_EVENT_TYPE = 'org.todevice.bench';
export const RECIPIENT_USER = 'bench-phone';
const PASSWORD = 'bench password';

export interface BenchWorld {
  server: RunningHomeserver;
  dir: string;
  serverDbPath: string;
  recipientUserId: string;
  /** Logs a device of the recipient in (creating it) and returns its account. */
  device(deviceId: string): Promise<Account>;
  /** A registered sending user with its own client. */
  sender(name: string): Promise<{ client: MatrixClient; userId: string }>;
  /** Queues `count` messages for `deviceId` through the homeserver's own queue (see the module header). */
  queueBacklog(deviceId: string, count: number, firstIndex?: number): void;
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

export async function startBenchWorld(): Promise<BenchWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-bench-'));
  const serverDbPath = path.join(dir, 'homeserver.db');
  const server = await startHomeserver({ dbPath: serverDbPath, port: 0, log: () => undefined });
  const anonymous = new MatrixClient({ baseUrl: server.url });
  const registered = await anonymous.register({ username: RECIPIENT_USER, password: PASSWORD, deviceId: 'BENCH-SETUP' });
  if (!registered.ok) throw new Error(`bench: register ${RECIPIENT_USER}: ${JSON.stringify(registered.error)}`);
  const recipientUserId = registered.value.user_id;
  const queueDb = openDatabase(serverDbPath, server.serverName).db;
  const queue = new ToDeviceQueue(queueDb);
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
      return { client: anonymous.withAccessToken(result.value.access_token), userId: result.value.user_id };
    },
    queueBacklog(deviceId, count, firstIndex = 0) {
      const messages: QueuedMessage[] = [];
      for (let i = 0; i < count; i += 1) {
        messages.push({
          userId: recipientUserId,
          deviceId,
          type: BENCH_EVENT_TYPE,
          sender: `@bench-sender-${i % 4}:${server.serverName}`,
          content: benchContent(firstIndex + i),
        });
      }
      queueDb.transaction(() => queue.enqueue(messages)).immediate();
    },
    async close() {
      queueDb.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
