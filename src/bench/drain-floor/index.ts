/**
 * Entry of the drain floor's server process (case 1): a backlog drained in batches with nothing but what a
 * durable drain cannot do without. The server holds the backlog in SQLite (WAL, `synchronous = FULL`); each
 * request acknowledges the previous batch (deletes the rows up to `after`) and takes the next `limit` rows in one
 * FULL commit, as our homeserver's drain does in one transaction; the client (drain-floor.ts, in the bench
 * process) commits each batch in one FULL transaction. No protocol, no authentication, no tokens, no lease, no
 * inbox bookkeeping: one fsync on each side per batch, and the HTTP hop.
 *
 * Runtime: node. Arguments: `--store FILE`. Routes: `POST /fill?count=N&first=I` queues N rows (outside any
 * timing), `GET /batch?after=ID&limit=L` answers `{ rows: [{ id, body }] }`. Tells the bench its port over IPC.
 * Stops on SIGTERM or when the bench disconnects.
 */
import http from 'node:http';
import Database from 'better-sqlite3';
import { requiredArgument } from '../floor-arguments';
import { benchContent } from '../bench-world';

const db = new Database(requiredArgument('drain floor', '--store'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS backlog (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO backlog (body) VALUES (?)');
const acknowledge = db.prepare('DELETE FROM backlog WHERE id <= ?');
const take = db.prepare('SELECT id, body FROM backlog WHERE id > ? ORDER BY id LIMIT ?');
const fill = db.transaction((first: number, count: number) => {
  for (let i = first; i < first + count; i += 1) insert.run(JSON.stringify(benchContent(i)));
});
const batch = db.transaction((after: number, limit: number) => {
  acknowledge.run(after);
  return take.all(after, limit) as Array<{ id: number; body: string }>;
});

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const number = (name: string): number => Number(url.searchParams.get(name) ?? '0');
  req.resume();
  req.on('end', () => {
    let body = '{}';
    if (req.method === 'POST' && url.pathname === '/fill') {
      fill(number('first'), number('count'));
      db.pragma('wal_checkpoint(TRUNCATE)');
    } else if (req.method === 'GET' && url.pathname === '/batch') {
      // The body is stored JSON already: the answer is spliced, not re-encoded, as a server would stream it.
      const rows = batch.immediate(number('after'), number('limit'));
      body = `{"rows":[${rows.map((row) => `{"id":${row.id},"body":${row.body}}`).join(',')}]}`;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('drain floor: no port');
  process.send?.({ kind: 'port', port: address.port });
});

const stop = (): void => {
  db.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
