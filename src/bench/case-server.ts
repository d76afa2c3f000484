/**
 * Case 6a, server: `sendToDevice` requests the homeserver accepts per second over real HTTP from several
 * concurrent senders (keep-alive fetch, one message per request to one device, each answered only once durable
 * at FULL on the server), against what one durable commit per request would allow: SQLite committing one row
 * per transaction at FULL on the same disk, in the same run. The server commits the requests that are ready
 * together in one transaction, one fsync for the group (src/homeserver/to-device-group-commit.ts), so the
 * target is to beat that: at least 1×.
 *
 * Beside it, for scale: the same senders sending the same requests over the same transport to a bare
 * `node:http` server that parses the body and answers `{}`, storing nothing (src/bench/http-ceiling). No
 * homeserver can accept more than that HTTP path carries; when the disk commits faster than it, the 1× target
 * is out of reach of any server, and this figure says so.
 *
 * Runtime: node.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MatrixClient } from '../engine/matrix-client';
import { BENCH_EVENT_TYPE, benchContent, type BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { startPortServer } from './commit-reporter';
import { nowMs, perSecond } from './stats';

const ceilingEntry = fileURLToPath(new URL('./http-ceiling/index.ts', import.meta.url));

interface Recipient {
  userId: string;
  deviceId: string;
}

function rawDurableCommitsPerS(dir: string, count: number): number {
  const db = new Database(path.join(dir, 'raw-commits.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY AUTOINCREMENT, content TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO rows (content) VALUES (?)');
    const startedMs = nowMs();
    for (let i = 0; i < count; i += 1) insert.run(JSON.stringify(benchContent(i)));
    return perSecond(count, nowMs() - startedMs);
  } finally {
    db.close();
  }
}

/** `requests` sendToDevice requests, one message each, from `clients` sending concurrently; requests per second. */
async function sendAllPerS(clients: readonly MatrixClient[], requests: number, recipient: Recipient, txnPrefix: string): Promise<number> {
  let next = 0;
  const failures: string[] = [];
  const startedMs = nowMs();
  await Promise.all(
    clients.map(async (client, s) => {
      while (next < requests) {
        const index = next;
        next += 1;
        const messages = { [recipient.userId]: { [recipient.deviceId]: benchContent(index) } };
        const result = await client.sendToDevice(BENCH_EVENT_TYPE, `${txnPrefix}s${s}-${index}`, messages);
        if (!result.ok) failures.push(JSON.stringify(result.error));
      }
    }),
  );
  const perS = perSecond(requests, nowMs() - startedMs);
  if (failures.length > 0) throw new Error(`bench: ${failures.length} sendToDevice requests failed, first: ${failures[0]}`);
  return perS;
}

/** The same requests from as many senders against a bare HTTP server in its own process (see the module header). */
async function httpCeilingPerS(senders: number, requests: number, recipient: Recipient): Promise<number> {
  const ceiling = await startPortServer('http ceiling', ceilingEntry, []);
  try {
    const baseUrl = `http://127.0.0.1:${ceiling.port}`;
    const clients = Array.from({ length: senders }, () => new MatrixClient({ baseUrl, accessToken: 'unused' }));
    return await sendAllPerS(clients, requests, recipient, 'ceiling-');
  } finally {
    await ceiling.stop();
  }
}

export async function runServerCase(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<Figure[]> {
  progress(`case 6: ${sizes.serverRequests} sendToDevice requests from ${sizes.serverSenders} senders`);
  const sink = await world.device('SERVER-SINK');
  const senders = await Promise.all(Array.from({ length: sizes.serverSenders }, (_, i) => world.sender(`bench-sender-${i}`)));
  const recipient = { userId: world.recipientUserId, deviceId: sink.deviceId };
  const acceptedPerS = await sendAllPerS(senders.map((sender) => sender.client), sizes.serverRequests, recipient, '');
  progress('case 6: the same requests to a bare HTTP server');
  const ceilingPerS = await httpCeilingPerS(sizes.serverSenders, sizes.serverRequests, recipient);
  progress('case 6: raw durable commits');
  const rawPerS = rawDurableCommitsPerS(world.dir, Math.min(sizes.serverRequests, 5000));
  return [
    {
      caseNumber: 6, name: 'sendToDevice accepted', value: acceptedPerS, baselineName: 'raw SQLite FULL, 1 row/tx',
      baseline: rawPerS, unit: 'req/s', better: 'higher', target: { op: '>=', ratio: 1 },
      note: `${sizes.serverRequests} requests, ${sizes.serverSenders} senders; requests ready together share one commit`,
    },
    {
      caseNumber: 6, name: 'sendToDevice accepted vs bare HTTP', value: acceptedPerS, baselineName: 'bare node:http server answering {}',
      baseline: ceilingPerS, unit: 'req/s', better: 'higher',
      note: 'for scale: the same senders and requests to a server that stores and checks nothing (http-ceiling); no server accepts more',
    },
  ];
}
