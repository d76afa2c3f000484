/**
 * The drain floor (case 1): what draining a backlog costs with no protocol at all, measured beside our drain.
 * The server is a process of its own (drain-floor/index.ts, one FULL commit per batch); the client here, in the
 * bench process as our engine is, fetches `limit` rows per request over a keep-alive `node:http` connection and
 * commits each batch in one transaction (WAL, `synchronous = FULL`) into a table of its own. Our drain does the
 * same hops and fsyncs, plus everything the protocol and the store's guarantees need (tokens, the lease fence,
 * the compare-and-set, the inbox rows, the event log); the floor is the part of its cost that is physics. Each
 * batch is timed in the same two parts as our drain's (batch-clock.ts): request to parsed answer, and answer to
 * commit.
 *
 * Runtime: node.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { startPortServer } from './commit-reporter';
import { BatchClock } from './batch-clock';
import type { DrainRun } from './drain-engine';
import { nowMs, perSecond } from './stats';

const entry = fileURLToPath(new URL('./drain-floor/index.ts', import.meta.url));

export interface DrainFloor {
  /** Queues `count` rows on the floor server, then drains them; the rate and batch timings of the drain alone. */
  drain(label: string, count: number, limit: number): Promise<DrainRun>;
  stop(): Promise<void>;
}

function request(agent: http.Agent, port: number, method: 'GET' | 'POST', urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`drain floor: ${urlPath} answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function startDrainFloor(dir: string): Promise<DrainFloor> {
  const server = await startPortServer('drain floor', entry, ['--store', path.join(dir, 'drain-floor-server.db')]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let first = 0;
  return {
    async drain(label, count, limit) {
      await request(agent, server.port, 'POST', `/fill?count=${count}&first=${first}`);
      first += count;
      const db = new Database(path.join(dir, `drain-floor-${label}.db`));
      try {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
        const insert = db.prepare('INSERT INTO rows (id, body) VALUES (?, ?)');
        const commit = db.transaction((rows: Array<{ id: number; body: unknown }>) => {
          for (const row of rows) insert.run(row.id, JSON.stringify(row.body));
        });
        let after = 0;
        let drained = 0;
        const batches = new BatchClock();
        const startedMs = nowMs();
        for (;;) {
          batches.onEvent({ kind: 'request' });
          const { rows } = JSON.parse(await request(agent, server.port, 'GET', `/batch?after=${after}&limit=${limit}`)) as { rows: Array<{ id: number; body: unknown }> };
          if (rows.length === 0) break;
          batches.onEvent({ kind: 'response' });
          commit.immediate(rows);
          batches.onEvent({ kind: 'commit' });
          drained += rows.length;
          after = rows[rows.length - 1]!.id;
        }
        const elapsedMs = nowMs() - startedMs;
        if (drained !== count) throw new Error(`drain floor: drained ${drained} of ${count} rows`);
        const batchTimings = batches.timings();
        return { events: count, elapsedMs, eventsPerS: perSecond(count, elapsedMs), ...(batchTimings === undefined ? {} : { batchTimings }) };
      } finally {
        db.close();
      }
    },
    async stop() {
      agent.destroy();
      await server.stop();
    },
  };
}
