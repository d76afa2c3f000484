// The bench's load generator (src/bench/http-load.ts): every request sent exactly once, with its headers and
// body; answers read however the bytes arrive; non-200 answers collected as failures; a connection the server
// closes, or an answer it cannot read, fails the run with a one-line error.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { driveLoad, encodeRequest, parseAnswer, type LoadRequest } from '../../../src/bench/http-load';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function listen(server: net.Server): Promise<string> {
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const requestAt = (index: number): LoadRequest => ({ method: 'PUT', path: `/req/${index}`, accessToken: `token-${index % 3}`, body: JSON.stringify({ index }) });

describe('driveLoad', () => {
  it('sends every request once over the connections asked for, with its token and body', async () => {
    const seen: Array<{ path: string; auth: string | undefined; body: string }> = [];
    const sockets = new Set<unknown>();
    const server = http.createServer((req, res) => {
      sockets.add(req.socket);
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', auth: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
        res.end('{}');
      });
    });
    const url = await listen(server);
    const result = await driveLoad(url, 4, 50, requestAt);
    expect(result.failures).toEqual([]);
    expect(result.perS).toBeGreaterThan(0);
    expect(sockets.size).toBe(4);
    expect(seen.map((r) => r.path).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `/req/${i}`).sort());
    for (const request of seen) {
      const index = Number(request.path.split('/')[2]);
      expect(request.auth).toBe(`Bearer token-${index % 3}`);
      expect(JSON.parse(request.body)).toEqual({ index });
    }
  });

  it('collects answers that are not 200 as failures, with their status and body', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const failing = req.url === '/req/3';
        const body = failing ? '{"errcode":"M_UNKNOWN"}' : '{}';
        res.writeHead(failing ? 500 : 200, { 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    const result = await driveLoad(await listen(server), 2, 6, requestAt);
    expect(result.failures).toEqual(['500 {"errcode":"M_UNKNOWN"}']);
  });

  it('reads an answer that arrives a byte at a time, and two answers that arrive in one chunk', async () => {
    const answer = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}';
    let requests = 0;
    const server = net.createServer((socket) => {
      let pending = '';
      socket.on('data', (chunk: Buffer) => {
        pending += chunk.toString('latin1');
        while (pending.includes('\r\n\r\n{')) {
          const end = pending.indexOf('}') + 1;
          pending = pending.slice(end);
          requests += 1;
          if (requests === 1) {
            // The first answer, one byte per write.
            for (const byte of answer) socket.write(byte);
          } else socket.write(answer);
        }
      });
    });
    const result = await driveLoad(await listen(server), 1, 5, requestAt);
    expect(result.failures).toEqual([]);
    expect(requests).toBe(5);
    const two = Buffer.from(answer + answer);
    const first = parseAnswer(two);
    expect(first?.status).toBe(200);
    expect(parseAnswer(two.subarray(first?.length ?? 0))?.length).toBe(answer.length);
    expect(parseAnswer(Buffer.from(answer.slice(0, -1)))).toBeNull();
  });

  it('fails the run when the server closes a connection with a request in flight', async () => {
    const server = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    await expect(driveLoad(await listen(server), 2, 4, requestAt)).rejects.toThrow('the server closed a connection with a request in flight');
  });

  it('fails the run on an answer it cannot read (chunked, or not HTTP/1.1)', async () => {
    const chunked = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.write('{');
        res.end('}');
      });
    });
    await expect(driveLoad(await listen(chunked), 1, 1, requestAt)).rejects.toThrow('an answer without Content-Length');
    expect(() => parseAnswer(Buffer.from('SMTP ready\r\n\r\n'))).toThrow('not an HTTP/1.1 answer');
  });

  it('encodes a request as one buffer with its length, and refuses what is not http', async () => {
    // 7 characters, 8 bytes: the length is counted in bytes.
    const encoded = encodeRequest({ method: 'PUT', path: '/x', body: '{"é":1}' }, '127.0.0.1:1').toString('utf8');
    expect(encoded).toContain('Content-Length: 8\r\n');
    expect(encoded).not.toContain('Authorization');
    expect(encoded.endsWith('\r\n\r\n{"é":1}')).toBe(true);
    await expect(driveLoad('https://127.0.0.1:1', 1, 1, requestAt)).rejects.toThrow('only http URLs');
  });
});
