// transport: the socket transport for http URLs (src/engine/socket-http-fetch.ts) and the answer parser under it
// (src/engine/http-answer-parser.ts), against raw TCP servers on 127.0.0.1 that write exactly the bytes a test
// names, and a node:http server for chunked answers.
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpAnswerParser, MAX_HEAD_BYTES } from '../../../src/engine/http-answer-parser';
import { createSocketHttpFetch } from '../../../src/engine/socket-http-fetch';

const run = promisify(execFile);
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(server: net.Server): Promise<string> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw server answering every request on a connection with `answer` (bytes as written), counting connections. */
async function rawServer(answer: (request: string, socket: net.Socket) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const request = pending.slice(0, end + 4 + length);
        pending = pending.slice(end + 4 + length);
        answer(request, socket);
      }
    });
  });
  const url = await listen(server);
  return { url, connections: () => connections };
}

const get = { method: 'GET', headers: {} };

describe('HttpAnswerParser', () => {
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: t\r\n\r\n';

  it('reads a chunked answer fed one byte at a time as it reads it whole', () => {
    const whole = new HttpAnswerParser().feed(Buffer.from(chunked));
    expect(whole?.body.toString()).toBe('hello, world');
    expect(whole?.headers.get('x-a')).toBe('1, 2');
    expect(whole?.reusable).toBe(true);
    const parser = new HttpAnswerParser();
    const bytes = Buffer.from(chunked);
    const answers = [];
    for (let i = 0; i < bytes.length; i += 1) answers.push(parser.feed(bytes.subarray(i, i + 1)));
    expect(answers.slice(0, -1).every((answer) => answer === undefined)).toBe(true);
    expect(answers.at(-1)?.body.toString()).toBe('hello, world');
  });

  it('skips interim answers, reads bodiless statuses, and knows when a connection may be reused', () => {
    const interim = new HttpAnswerParser().feed(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}'));
    expect([interim?.status, interim?.body.toString()]).toEqual([201, '{}']);
    expect(new HttpAnswerParser().feed(Buffer.from('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n'))?.body.length).toBe(0);
    expect(new HttpAnswerParser(true).feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'))?.body.length).toBe(0);
    expect(new HttpAnswerParser().feed(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'))?.reusable).toBe(false);
    expect(new HttpAnswerParser().feed(Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'))?.reusable).toBe(false);
    expect(new HttpAnswerParser().feed(Buffer.from('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n'))?.reusable).toBe(true);
    // Bytes after the answer were never asked for.
    expect(new HttpAnswerParser().feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1'))?.reusable).toBe(false);
  });

  it('reads a body that runs until the connection closes, and says what was cut off otherwise', () => {
    const untilClose = new HttpAnswerParser();
    expect(untilClose.feed(Buffer.from('HTTP/1.0 200 OK\r\n\r\nall of'))).toBeUndefined();
    expect(untilClose.feed(Buffer.from(' it'))).toBeUndefined();
    const answer = untilClose.closed();
    expect([answer.body.toString(), answer.reusable]).toEqual(['all of it', false]);
    expect(() => new HttpAnswerParser().closed()).toThrow('socket hang up');
    const cut = new HttpAnswerParser();
    cut.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(() => cut.closed()).toThrow('connection closed before the answer was complete');
  });

  it('refuses what it cannot read, with what was wrong', () => {
    const refuse = (text: string | Buffer) => () => new HttpAnswerParser().feed(Buffer.isBuffer(text) ? text : Buffer.from(text));
    expect(refuse('SSH-2.0-OpenSSH\r\n\r\n')).toThrow('not an HTTP/1.x status line');
    expect(refuse('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n')).toThrow('header line without a name');
    expect(refuse('HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n')).toThrow('bad Content-Length');
    expect(refuse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')).toThrow('bad chunk size');
    expect(refuse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY')).toThrow('chunk data not followed by CRLF');
    expect(refuse(Buffer.alloc(MAX_HEAD_BYTES + 10, 'a'))).toThrow(`answer header block over ${MAX_HEAD_BYTES} bytes`);
  });
});

describe('createSocketHttpFetch', () => {
  it('sends the request in one piece with its headers and body, and reads a chunked answer from node:http', async () => {
    const seen: Array<{ method?: string; url?: string; host?: string; length?: string; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, host: req.headers.host, length: req.headers['content-length'], body });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"a":');
        setImmediate(() => res.end('"é"}'));
      });
    });
    const url = await listen(server);
    const fetch = createSocketHttpFetch();
    const written: string[] = [];
    const response = await fetch(`${url}/p/a%20b?x=1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"é":1}', onWritten: () => written.push('w') });
    expect([response.ok, response.status, response.headers.get('CONTENT-TYPE')]).toEqual([true, 200, 'application/json']);
    expect(JSON.parse(await response.text())).toEqual({ a: 'é' });
    expect(written).toEqual(['w']);
    expect(seen).toEqual([{ method: 'PUT', url: '/p/a%20b?x=1', host: new URL(url).host, length: '8', body: '{"é":1}' }]);
  });

  it('reuses a kept-alive connection, and not one the server asked to close', async () => {
    let answered = 0;
    const server = await rawServer((_request, socket) => {
      answered += 1;
      socket.write(answered === 2 ? 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
    });
    const fetch = createSocketHttpFetch();
    for (let i = 0; i < 3; i += 1) expect(await (await fetch(`${server.url}/${i}`, get)).text()).toBe('{}');
    expect([answered, server.connections()]).toEqual([3, 2]);
  });

  it('takes a fresh connection when the server closed the idle one, or when the idle one is too old', async () => {
    const server = await rawServer((_request, socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
    });
    const fetch = createSocketHttpFetch();
    await fetch(`${server.url}/a`, get);
    // The server half-closed after answering (without saying so): the idle connection left the pool.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await (await fetch(`${server.url}/b`, get)).text()).toBe('{}');
    expect(server.connections()).toBe(2);

    const keeps = await rawServer((_request, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const shortLimit = createSocketHttpFetch({ idleReuseLimitMs: 30 });
    await shortLimit(`${keeps.url}/a`, get);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await shortLimit(`${keeps.url}/b`, get);
    expect(keeps.connections()).toBe(2);
  });

  it('reads a body delimited by the connection closing', async () => {
    const server = await rawServer((_request, socket) => {
      socket.write('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ');
      setImmediate(() => socket.end('part two'));
    });
    expect(await (await createSocketHttpFetch()(`${server.url}/`, get)).text()).toBe('part one, part two');
  });

  it('rejects, and closes the connection, on an abort while the body arrives, a broken connection or a bad answer', async () => {
    let closedByClient = 0;
    const partial = await rawServer((_request, socket) => {
      socket.once('close', () => (closedByClient += 1));
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":');
    });
    const fetch = createSocketHttpFetch();
    const controller = new AbortController();
    const aborted = fetch(`${partial.url}/slow`, { ...get, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('caller gave up')), 30);
    await expect(aborted).rejects.toThrow('caller gave up');
    const hangUp = await rawServer((_request, socket) => socket.destroy());
    await expect(fetch(`${hangUp.url}/`, get)).rejects.toThrow('socket hang up');
    const garbage = await rawServer((_request, socket) => socket.write('HTTP/2 200\r\n\r\n'));
    await expect(fetch(`${garbage.url}/`, get)).rejects.toThrow('not an HTTP/1.x status line');
    await expect(fetch('http://127.0.0.1:1/', get)).rejects.toThrow('ECONNREFUSED');
    await expect(fetch(`${partial.url}/`, { method: 'GET', headers: { 'x-evil': 'a\r\nInjected: 1' } })).rejects.toThrow('contains a line break');
    await expect(fetch('https://127.0.0.1:1/', get)).rejects.toThrow('only http URLs');
    const already = new AbortController();
    already.abort(new Error('before it started'));
    await expect(fetch(`${partial.url}/`, { ...get, signal: already.signal })).rejects.toThrow('before it started');
    expect(closedByClient).toBe(1);
  });

  it('does not keep a process alive with its idle kept-alive connection', async () => {
    const server = await rawServer((_request, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
    const script = `import { createSocketHttpFetch } from './src/engine/socket-http-fetch.ts';
      const response = await createSocketHttpFetch()(${JSON.stringify(`${server.url}/`)}, { method: 'GET', headers: {} });
      console.log(await response.text());`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('{}');
    expect(server.connections()).toBe(1);
  });
});
