/**
 * Case 6a, server: `sendToDevice` requests the homeserver accepts per second over real HTTP from concurrent
 * senders (one kept-alive connection each, one request in flight per sender, one message per request to one
 * device, each answered only once durable at FULL on the server), against what one durable commit per request
 * would allow: SQLite committing one row per transaction at FULL on the same disk, in the same run. The server
 * commits the requests that are ready together in one transaction, one fsync for the group
 * (src/homeserver/to-device-group-commit.ts), so the target is to beat that: at least 1×.
 *
 * How it is driven: by the lean load generator (http-load.ts), not by `MatrixClient`, so that the measuring
 * process costs the server as little of the two cores as it can; and after an unmeasured warm-up of the same
 * requests, so that what is timed is a server that has been running, not one still compiling its request path.
 * The target row has `serverSenders` senders (32 by default: what a homeserver with a few dozen active clients
 * sees). A second row has a quarter of them (8), for scale: fewer requests are ready together, so each commit
 * carries fewer of them.
 *
 * Beside it, for scale: the same senders sending the same requests over the same transport to a bare
 * `node:http` server that parses the body and answers `{}`, storing nothing (src/bench/http-ceiling). No
 * homeserver can accept more than that HTTP path carries.
 *
 * Runtime: node.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_EVENT_TYPE, benchContent, type BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { startPortServer } from './commit-reporter';
import { driveLoad, type LoadRequest } from './http-load';
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

/** One sendToDevice request, one message to `recipient`, with its own transaction id. */
function sendToDeviceRequest(accessToken: string, recipient: Recipient, txnId: string, index: number): LoadRequest {
  const messages = { [recipient.userId]: { [recipient.deviceId]: benchContent(index) } };
  return {
    method: 'PUT',
    path: `/_matrix/client/v3/sendToDevice/${encodeURIComponent(BENCH_EVENT_TYPE)}/${encodeURIComponent(txnId)}`,
    accessToken,
    body: JSON.stringify({ messages }),
  };
}

/**
 * `requests` sendToDevice requests from `accessTokens.length` senders, each its own connection with one request
 * in flight; requests per second. Request i goes to sender i mod senders.
 */
async function sendAllPerS(url: string, accessTokens: readonly string[], requests: number, recipient: Recipient, txnPrefix: string): Promise<number> {
  const result = await driveLoad(url, accessTokens.length, requests, (index) => {
    const sender = index % accessTokens.length;
    return sendToDeviceRequest(accessTokens[sender] ?? '', recipient, `${txnPrefix}s${sender}-${index}`, index);
  });
  if (result.failures.length > 0) throw new Error(`bench: ${result.failures.length} sendToDevice requests failed, first: ${result.failures[0]}`);
  return result.perS;
}

/**
 * The same requests from as many senders against a bare HTTP server in its own process, after the same warm-up
 * (see the module header).
 */
async function httpCeilingPerS(accessTokens: readonly string[], sizes: BenchSizes, recipient: Recipient): Promise<number> {
  const ceiling = await startPortServer('http ceiling', ceilingEntry, []);
  try {
    const url = `http://127.0.0.1:${ceiling.port}`;
    await sendAllPerS(url, accessTokens, sizes.serverWarmupRequests, recipient, 'ceiling-warm-');
    return await sendAllPerS(url, accessTokens, sizes.serverRequests, recipient, 'ceiling-');
  } finally {
    await ceiling.stop();
  }
}

export async function runServerCase(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<Figure[]> {
  const sink = await world.device('SERVER-SINK');
  const senders = await Promise.all(Array.from({ length: sizes.serverSenders }, (_, i) => world.sender(`bench-sender-${i}`)));
  const recipient = { userId: world.recipientUserId, deviceId: sink.deviceId };
  const accessTokens = senders.map((sender) => sender.client.accessToken ?? '');
  // A quarter of the senders (8 of the default 32) for the row beside the target.
  const fewTokens = accessTokens.slice(0, Math.max(1, Math.floor(accessTokens.length / 4)));
  progress(`case 6: ${sizes.serverWarmupRequests} sendToDevice requests to warm the server up (not timed)`);
  await sendAllPerS(world.server.url, accessTokens, sizes.serverWarmupRequests, recipient, 'warm-');
  progress(`case 6: ${sizes.serverRequests} sendToDevice requests from ${accessTokens.length} senders`);
  const acceptedPerS = await sendAllPerS(world.server.url, accessTokens, sizes.serverRequests, recipient, '');
  progress(`case 6: ${sizes.serverRequests} sendToDevice requests from ${fewTokens.length} senders`);
  const fewAcceptedPerS = await sendAllPerS(world.server.url, fewTokens, sizes.serverRequests, recipient, 'few-');
  progress('case 6: the same requests to a bare HTTP server');
  const ceilingPerS = await httpCeilingPerS(accessTokens, sizes, recipient);
  progress('case 6: raw durable commits');
  const rawPerS = rawDurableCommitsPerS(world.dir, Math.min(sizes.serverRequests, 5000));
  return [
    {
      caseNumber: 6, name: 'sendToDevice accepted', value: acceptedPerS, baselineName: 'raw SQLite FULL, 1 row/tx',
      baseline: rawPerS, unit: 'req/s', better: 'higher', target: { op: '>=', ratio: 1 },
      note: `${sizes.serverRequests} requests, ${accessTokens.length} senders, after ${sizes.serverWarmupRequests} untimed; requests ready together share one commit`,
    },
    {
      caseNumber: 6, name: `sendToDevice accepted, ${fewTokens.length} sender${fewTokens.length === 1 ? '' : 's'}`, value: fewAcceptedPerS, baselineName: 'raw SQLite FULL, 1 row/tx',
      baseline: rawPerS, unit: 'req/s', better: 'higher',
      note: `for scale: the same requests from fewer senders, so fewer are ready together and each commit carries fewer`,
    },
    {
      caseNumber: 6, name: 'sendToDevice accepted vs bare HTTP', value: acceptedPerS, baselineName: 'bare node:http server answering {}',
      baseline: ceilingPerS, unit: 'req/s', better: 'higher',
      note: 'for scale: the same senders and requests to a server that stores and checks nothing (http-ceiling); no server accepts more',
    },
  ];
}
