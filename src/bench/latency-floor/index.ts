/**
 * Entry of the two processes of case 2's floor: the live path reduced to what it cannot do without. A message
 * goes from a sender to a server that makes it durable (one SQLite commit, WAL, `synchronous = FULL`) and hands
 * it to a client waiting in a long poll, which makes it durable too (one commit, same settings). No protocol, no
 * authentication, no validation, no tokens, no lease: two fsyncs and the hops between three processes, which is
 * the least any durable to-device path costs on this machine. Case 2 times it exactly as it times ours.
 *
 * Runtime: node. Arguments: `--role server` (listens on 127.0.0.1, port 0, tells the bench its port over IPC)
 * or `--role client --port N` (long-polls that server, tells the bench each commit's time, as the live engine
 * does: live-engine-protocol.ts); both take `--store FILE`. Server routes: `GET /bare` answers `{}`, `POST /poll`
 * waits for the next message, `PUT /send` commits the body, answers the waiting poll, then the sender.
 * Stops on SIGTERM or when the bench disconnects.
 */
import http from 'node:http';
import Database from 'better-sqlite3';
import { requiredArgument } from '../floor-arguments';
import type { LiveEngineMessage } from '../live-engine-protocol';

function openDurable(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  return db;
}

function reply(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: http.IncomingMessage, then: (body: string) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => then(Buffer.concat(chunks).toString('utf8')));
}

function serve(db: Database.Database): void {
  const insert = db.prepare('INSERT INTO messages (body) VALUES (?)');
  let waiting: http.ServerResponse | undefined;
  const server = http.createServer((req, res) =>
    readBody(req, (body) => {
      if (req.method === 'POST') {
        waiting = res;
        return;
      }
      if (req.method === 'PUT') {
        const id = Number(insert.run(body).lastInsertRowid);
        const poll = waiting;
        waiting = undefined;
        if (poll !== undefined) reply(poll, JSON.stringify({ id, body }));
      }
      reply(res, '{}');
    }),
  );
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('latency floor: no port');
    process.send?.({ kind: 'port', port: address.port });
  });
}

function pollForever(db: Database.Database, port: number): void {
  const insert = db.prepare('INSERT INTO messages (id, body) VALUES (?, ?)');
  const agent = new http.Agent({ keepAlive: true });
  const tell = (message: LiveEngineMessage): void => void process.send?.(message);
  const poll = (): void => {
    const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/poll', agent }, (response) =>
      readBody(response, (text) => {
        const message = JSON.parse(text) as { id: number; body: string };
        insert.run(message.id, message.body);
        tell({ kind: 'commit', atNs: process.hrtime.bigint().toString(), eventCount: 1 });
        poll();
      }),
    );
    request.on('error', (error) => tell({ kind: 'failed', error: String(error) }));
    request.end();
  };
  poll();
  // The poll is written by now or within a turn; the server parks it until a message comes.
  setTimeout(() => tell({ kind: 'ready' }), 50);
}

const db = openDurable(requiredArgument('latency floor', '--store'));
if (requiredArgument('latency floor', '--role') === 'server') serve(db);
else pollForever(db, Number(requiredArgument('latency floor', '--port')));
const stop = (): void => {
  db.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
