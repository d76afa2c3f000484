// transport: nodeHttpFetch, the default transport of MatrixClient, against a real node:http server on port 0
// (http URLs, so through the socket transport; socket-http-fetch.test.ts covers the answers it reads).
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { MatrixClient } from '../../../src/engine/matrix-client';
import { createNodeHttpFetch, nodeHttpFetch } from '../../../src/engine/node-http-fetch';

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => handler(req, res, body));
  });
  server.on('connection', () => (connections += 1));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

describe('nodeHttpFetch', () => {
  it('transport: status, headers and body come back, and one kept-alive connection serves consecutive requests', async () => {
    const seen: Array<{ method?: string; body: string; length?: string; auth?: string }> = [];
    const server = await serve((req, res, body) => {
      seen.push({ method: req.method, body, length: req.headers['content-length'], auth: req.headers.authorization });
      res.writeHead(201, { 'Content-Type': 'application/json', 'Retry-After': '3' });
      res.end(JSON.stringify({ echo: body }));
    });
    const written: string[] = [];
    const first = await nodeHttpFetch(`${server.url}/a`, {
      method: 'PUT',
      headers: { authorization: 'Bearer t' },
      body: '{"é":1}',
      onWritten: () => written.push('written'),
    });
    expect(written).toEqual(['written']);
    expect([first.ok, first.status, first.headers.get('RETRY-AFTER'), first.headers.get('x-absent')]).toEqual([true, 201, '3', null]);
    expect(JSON.parse(await first.text())).toEqual({ echo: '{"é":1}' });
    const second = await nodeHttpFetch(`${server.url}/b`, { method: 'GET', headers: {} });
    await second.text();
    expect(seen).toEqual([
      { method: 'PUT', body: '{"é":1}', length: String(Buffer.byteLength('{"é":1}')), auth: 'Bearer t' },
      { method: 'GET', body: '', length: undefined, auth: undefined },
    ]);
    expect(server.connections()).toBe(1);
  });

  it('transport: a connection idle past the limit is not reused; the request goes out once, on a fresh one', async () => {
    let requests = 0;
    const server = await serve((_req, res) => {
      requests += 1;
      res.end('{}');
    });
    const fetchWithShortLimit = createNodeHttpFetch({ idleReuseLimitMs: 50 });
    const written: number[] = [];
    await (await fetchWithShortLimit(`${server.url}/1`, { method: 'GET', headers: {}, onWritten: () => written.push(1) })).text();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await fetchWithShortLimit(`${server.url}/2`, { method: 'POST', headers: {}, body: '{}', onWritten: () => written.push(2) });
    expect(await second.text()).toBe('{}');
    expect([requests, server.connections(), written]).toEqual([2, 2, [1, 2]]);
  });

  it('transport: an abort before the answer ends the request, and MatrixClient reports it as aborted', async () => {
    const server = await serve(() => undefined);
    const controller = new AbortController();
    const direct = nodeHttpFetch(`${server.url}/x`, { method: 'GET', headers: {}, signal: controller.signal });
    controller.abort();
    await expect(direct).rejects.toThrow();
    const client = new MatrixClient({ baseUrl: server.url, requestTimeoutMs: 60_000 });
    const aborting = new AbortController();
    const sync = client.slidingSyncToDevice({ connId: 'main', timeoutMs: 30_000, toDevice: { enabled: true, limit: 10 }, signal: aborting.signal });
    aborting.abort();
    expect(await sync).toEqual({ ok: false, error: { kind: 'aborted' } });
  });

  it('transport: an abort while the body is still arriving rejects the request and closes its connection', async () => {
    let written!: () => void;
    const partWritten = new Promise<void>((resolve) => (written = resolve));
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const server = await serve((req, res) => {
      req.socket.once('close', closed);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"partial":', () => written());
    });
    const controller = new AbortController();
    const request = nodeHttpFetch(`${server.url}/slow`, { method: 'GET', headers: {}, signal: controller.signal });
    await partWritten;
    controller.abort();
    await expect(request).rejects.toThrow();
    await connectionClosed;
  });

  it('transport: a refused connection rejects, which MatrixClient reports as a network error', async () => {
    await expect(nodeHttpFetch('http://127.0.0.1:1/x', { method: 'GET', headers: {} })).rejects.toThrow();
    const result = await new MatrixClient({ baseUrl: 'http://127.0.0.1:1' }).whoami();
    expect(result.ok === false && result.error.kind).toBe('network');
  });

  it('transport: a process that only talks http never loads node:https; its first https request does', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    const script = `import { nodeHttpFetch } from './src/engine/node-http-fetch.ts';
      const loaded = () => process.moduleLoadList.includes('NativeModule https');
      await (await nodeHttpFetch(${JSON.stringify(`${server.url}/`)}, { method: 'GET', headers: {} })).text();
      const afterHttp = loaded();
      await nodeHttpFetch('https://127.0.0.1:1/', { method: 'GET', headers: {} }).catch(() => undefined);
      console.log(JSON.stringify({ afterHttp, afterHttps: loaded() }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({ afterHttp: false, afterHttps: true });
  });
});
