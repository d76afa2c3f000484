/**
 * Case 6a, server: `sendToDevice` requests the homeserver accepts per second over real HTTP from several
 * concurrent senders (keep-alive fetch, one message per request to one device, each answered only once durable
 * at FULL on the server), against what one durable commit per request would allow: SQLite committing one row
 * per transaction at FULL on the same disk, in the same run. The server commits the requests that are ready
 * together in one transaction (src/homeserver/to-device-group-commit.ts), so the target is to beat that: at
 * least 1×.
 *
 * Runtime: node.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { BENCH_EVENT_TYPE, benchContent, type BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { nowMs, perSecond } from './stats';

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

export async function runServerCase(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<Figure[]> {
  progress(`case 6: ${sizes.serverRequests} sendToDevice requests from ${sizes.serverSenders} senders`);
  const sink = await world.device('SERVER-SINK');
  const senders = await Promise.all(Array.from({ length: sizes.serverSenders }, (_, i) => world.sender(`bench-sender-${i}`)));
  let next = 0;
  const failures: string[] = [];
  const startedMs = nowMs();
  await Promise.all(
    senders.map(async (sender, s) => {
      for (let guard = 0; guard < sizes.serverRequests && next < sizes.serverRequests; guard += 1) {
        const index = next;
        next += 1;
        const messages = { [world.recipientUserId]: { [sink.deviceId]: benchContent(index) } };
        const result = await sender.client.sendToDevice(BENCH_EVENT_TYPE, `s${s}-${index}`, messages);
        if (!result.ok) failures.push(JSON.stringify(result.error));
      }
    }),
  );
  const acceptedPerS = perSecond(sizes.serverRequests, nowMs() - startedMs);
  if (failures.length > 0) throw new Error(`bench: ${failures.length} sendToDevice requests failed, first: ${failures[0]}`);
  progress('case 6: raw durable commits');
  const rawPerS = rawDurableCommitsPerS(world.dir, Math.min(sizes.serverRequests, 5000));
  return [
    {
      caseNumber: 6, name: 'sendToDevice accepted', value: acceptedPerS, baselineName: 'raw SQLite FULL, 1 row/tx',
      baseline: rawPerS, unit: 'req/s', better: 'higher', target: { op: '>=', ratio: 1 },
      note: `${sizes.serverRequests} requests, ${sizes.serverSenders} senders; requests ready together share one commit (group commit)`,
    },
  ];
}
