/**
 * `nodeHttpFetch`: the `FetchLike` every `MatrixClient` uses unless one is injected. `http:` URLs go over plain
 * sockets (socket-http-fetch.ts, which says why not node:http); `https:` URLs over node:https, with one
 * keep-alive agent.
 *
 * Runtime: node. Why not the global fetch: undici's fetch wraps every response in WHATWG streams, `Headers` and
 * a `Response`, and hands the body over through several more turns of the event loop. For a process that has
 * been sitting in a long poll, reading a small sync response that way took about 0.5 ms between the headers and
 * the parsed body (measured with the latency benchmark, `todevice bench`), and a draining engine paid it on every
 * batch. Here the body is collected as it arrives, so `text()` is usually already resolved when the caller asks
 * for it.
 *
 * It implements what `requestJson` reads and nothing more: `ok`, `status`, one header at a time, the body as
 * text, and abort by signal both before the answer (the request is destroyed, the promise rejects) and, over
 * https, while the body is still arriving (`text()` rejects). One addition: `onWritten` is called once the whole
 * request has been handed to the operating system, which is when a caller that waits for the answer may use the
 * time for work of its own (the sync engine's WAL checkpoint).
 *
 * Connections are kept alive between requests. Node's agent retires an idle connection before the server's
 * announced `Keep-Alive` timeout (5 s for the reference server), but by a timer, and a timer cannot fire while
 * the event loop is blocked (a long synchronous SQLite transaction): the next request would then go out on a
 * connection the server has already closed, and fail with "socket hang up" without the server ever reading it.
 * So a connection idle for longer than `idleReuseLimitMs` by the wall clock is closed when it is handed to a
 * request, before anything is written to it, and the request goes out once more on a fresh connection (the
 * socket transport applies the same rule). Nothing else is ever retried here: a connection that breaks after
 * the request was written (a server that acted and then dropped the connection) is the caller's error to see.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { FetchInit, FetchLike, FetchResponse } from './http';
import { createSocketHttpFetch } from './socket-http-fetch';

/** When each kept-alive connection last became idle (wall clock). */
const idleSinceMs = new WeakMap<object, number>();

/**
 * node:https and its keep-alive agent, loaded on the first https request: a process that talks only to a local
 * homeserver (a notifier, every process of the tests and benchmarks) never loads TLS and node:http's client.
 */
let httpsClient: Promise<{ https: typeof https; agent: https.Agent }> | undefined;
function loadHttps(): Promise<{ https: typeof https; agent: https.Agent }> {
  httpsClient ??= import('node:https').then((module) => {
    const agent = new module.Agent({ keepAlive: true });
    agent.on('free', (socket: object) => idleSinceMs.set(socket, Date.now()));
    return { https: module, agent };
  });
  return httpsClient;
}

export interface NodeHttpFetchOptions {
  /** A kept-alive connection idle longer than this is not reused. Default 3000 (the reference server's is 5 s). */
  idleReuseLimitMs?: number;
}

export function createNodeHttpFetch(options: NodeHttpFetchOptions = {}): FetchLike {
  const idleReuseLimitMs = options.idleReuseLimitMs ?? 3000;
  const plain = createSocketHttpFetch({ idleReuseLimitMs });
  return (input, init) => (/^http:/i.test(input) ? plain(input, init) : send(input, init, idleReuseLimitMs, true));
}

/** The default transport of `MatrixClient`. */
export const nodeHttpFetch: FetchLike = createNodeHttpFetch();

async function send(input: string, init: FetchInit, idleReuseLimitMs: number, mayRetry: boolean): Promise<FetchResponse> {
  const url = new URL(input);
  if (url.protocol !== 'https:') throw new TypeError(`unsupported protocol ${url.protocol}`);
  const { https, agent } = await loadHttps();
  return new Promise<FetchResponse>((resolve, reject) => {
    const signal = init.signal;
    if (signal?.aborted === true) {
      reject(abortReason(signal));
      return;
    }
    const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
    const headers = body === undefined ? init.headers : { ...init.headers, 'content-length': String(body.length) };
    const request = https.request(url, { method: init.method, headers, agent });
    const onAbort = (): void => void request.destroy(signal === undefined ? undefined : abortReason(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    let closedUnwritten = false;
    // 'socket' comes before the request is written to it (see the module header).
    request.once('socket', (socket) => {
      const idleSince = idleSinceMs.get(socket);
      if (mayRetry && request.reusedSocket && idleSince !== undefined && Date.now() - idleSince > idleReuseLimitMs) {
        closedUnwritten = true;
        socket.destroy();
      }
    });
    request.on('error', (error) => {
      done();
      if (closedUnwritten && signal?.aborted !== true) resolve(send(input, init, idleReuseLimitMs, false));
      else reject(error);
    });
    request.once('response', (response) => resolve(collect(response, request, done)));
    const onWritten = init.onWritten;
    if (onWritten !== undefined) request.once('finish', () => closedUnwritten || onWritten());
    request.end(body);
  });
}

/** The answer, its body collected from now on; `text()` rejects if the connection breaks or is aborted first. */
function collect(response: http.IncomingMessage, request: http.ClientRequest, done: () => void): FetchResponse {
  const status = response.statusCode ?? 0;
  const text = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.once('end', () => {
      done();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    response.on('error', reject);
    request.on('error', reject);
    request.once('close', () => {
      if (!response.complete) reject(new Error('connection closed before the response body was complete'));
    });
  });
  // A caller that never reads the body must not turn a later broken connection into an unhandled rejection.
  text.catch(() => done());
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: {
      get(name: string): string | null {
        const value = response.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    text: () => text,
  };
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
