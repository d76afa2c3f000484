/**
 * Entry of case 6's HTTP ceiling: a bare `node:http` server that reads each request's body, parses it as JSON
 * and answers `{}`, storing nothing and checking nothing. Case 6 drives it with the very senders, requests and
 * transport it drives the homeserver with, so the figure says how many requests a second the HTTP path alone
 * (the senders' client, the server's HTTP parsing, the hops between two processes) carries on this machine,
 * beside what the homeserver accepts durably.
 *
 * Runtime: node. Listens on 127.0.0.1, port 0, and tells the bench its port over IPC (`{kind: 'port', port}`).
 * Stops on SIGTERM or when the bench disconnects.
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('http ceiling: no port');
  process.send?.({ kind: 'port', port: address.port });
});
const stop = (): void => process.exit(0);
process.once('SIGTERM', stop);
process.once('disconnect', stop);
