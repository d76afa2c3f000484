/**
 * `createSocketHttpFetch`: the `FetchLike` for `http:` URLs, HTTP/1.1 written to and read from plain TCP
 * sockets (`node:net`). `nodeHttpFetch` hands it every `http:` request (a local homeserver: the embedded one, a
 * Synapse on localhost, every test and benchmark here); `https:` stays on node:https.
 *
 * Runtime: node. Why not node:http for these: there an answer reaches the caller only after node:http's parser
 * callbacks, its readable stream (a `data` listener resumes it a tick later, `end` comes a tick after that) and
 * its agent's bookkeeping for the freed connection have all run, and only then does the caller's `await` go on.
 * On the live path (bench case 2) that was 0.75 to 0.82 ms from the server's write to the engine holding the
 * parsed batch, and 0.44 to 0.56 ms here; a drain (bench case 1) spends it on every batch.
 *
 * Guarantees:
 * - One request at a time per connection. Connections to one host and port are kept alive and reused, the most
 *   recently used first. One idle for longer than `idleReuseLimitMs` by the wall clock is closed instead of
 *   reused, before anything is written to it, as `nodeHttpFetch` does and for its reason: a server retires idle
 *   connections by its own timer, and a request written to a connection it has just closed fails unread. One
 *   the server closes while idle leaves the pool at once. Idle connections do not keep the process alive.
 * - The request goes out in one write: request line, `Host`, the caller's headers, and `Content-Length` when
 *   there is a body. `onWritten` is called once those bytes are handed to the operating system.
 * - The promise resolves once the whole answer is in (http-answer-parser.ts says which answers it reads), so
 *   `text()` is already settled. Before that, an abort by the caller's signal destroys the connection and rejects
 *   with the signal's reason; a connection that breaks rejects with its error ("socket hang up" when it closed
 *   before any answer); an answer that cannot be read rejects with what was wrong. The connection is then closed,
 *   never reused. Nothing is retried: a request may have reached the server, and only the caller knows whether
 *   repeating it is safe.
 */
import net from 'node:net';
import type { FetchInit, FetchLike, FetchResponse } from './http';
import { HttpAnswerParser, type HttpAnswer } from './http-answer-parser';

export interface SocketHttpFetchOptions {
  /** A kept-alive connection idle longer than this is not reused. Default 3000 (the reference server's is 5 s). */
  idleReuseLimitMs?: number;
}

interface IdleConnection {
  socket: net.Socket;
  idleSinceMs: number;
}

/** Kept-alive connections by `host:port`, most recently used last. */
class ConnectionPool {
  private readonly idle = new Map<string, IdleConnection[]>();

  constructor(private readonly idleReuseLimitMs: number) {}

  /** A live idle connection to `key` young enough to reuse, or undefined; older ones are closed. */
  take(key: string): net.Socket | undefined {
    const list = this.idle.get(key);
    for (let entry = list?.pop(); entry !== undefined; entry = list?.pop()) {
      if (!entry.socket.destroyed && Date.now() - entry.idleSinceMs <= this.idleReuseLimitMs) {
        entry.socket.removeAllListeners();
        entry.socket.ref();
        return entry.socket;
      }
      entry.socket.destroy();
    }
    return undefined;
  }

  /** Keeps `socket` for the next request to `key`; it leaves the pool if it closes, errs or speaks meanwhile. */
  keep(key: string, socket: net.Socket): void {
    socket.removeAllListeners();
    const entry: IdleConnection = { socket, idleSinceMs: Date.now() };
    const leave = (): void => {
      socket.destroy();
      const list = this.idle.get(key);
      const at = list?.indexOf(entry) ?? -1;
      if (list !== undefined && at >= 0) list.splice(at, 1);
    };
    // Bytes on an idle connection were never asked for: it cannot be trusted with the next answer.
    socket.once('data', leave);
    socket.once('error', leave);
    socket.once('close', leave);
    socket.unref();
    let list = this.idle.get(key);
    if (list === undefined) this.idle.set(key, (list = []));
    list.push(entry);
  }
}

/** The request as the bytes of one write. */
function encodeRequest(url: URL, init: FetchInit, body: Buffer | undefined): Buffer {
  let head = `${init.method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(init.headers)) head += `${name}: ${value}\r\n`;
  if (body !== undefined) head += `Content-Length: ${body.length}\r\n`;
  head += '\r\n';
  const headBytes = Buffer.from(head, 'latin1');
  return body === undefined ? headBytes : Buffer.concat([headBytes, body]);
}

function responseOf(answer: HttpAnswer): FetchResponse {
  const text = Promise.resolve(answer.body.toString('utf8'));
  return {
    ok: answer.status >= 200 && answer.status < 300,
    status: answer.status,
    headers: { get: (name: string) => answer.headers.get(name.toLowerCase()) ?? null },
    text: () => text,
  };
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

export function createSocketHttpFetch(options: SocketHttpFetchOptions = {}): FetchLike {
  const pool = new ConnectionPool(options.idleReuseLimitMs ?? 3000);
  return (input, init) =>
    new Promise<FetchResponse>((resolve, reject) => {
      const url = new URL(input);
      if (url.protocol !== 'http:') {
        reject(new TypeError(`socket transport: only http URLs, not ${url.protocol}`));
        return;
      }
      const signal = init.signal;
      if (signal?.aborted === true) {
        reject(abortReason(signal));
        return;
      }
      // A header value with a line break would end the header block early: refused, never written.
      for (const [name, value] of Object.entries(init.headers)) {
        if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
          reject(new TypeError(`socket transport: header ${JSON.stringify(name)} contains a line break`));
          return;
        }
      }
      const port = url.port === '' ? 80 : Number(url.port);
      const key = `${url.hostname}:${port}`;
      const socket = pool.take(key) ?? net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port, noDelay: true });
      const parser = new HttpAnswerParser(init.method === 'HEAD');
      let settled = false;
      const settle = (outcome: { answer: HttpAnswer } | { error: Error }): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if ('error' in outcome) {
          socket.destroy();
          reject(outcome.error);
          return;
        }
        if (outcome.answer.reusable) pool.keep(key, socket);
        else socket.destroy();
        resolve(responseOf(outcome.answer));
      };
      const onAbort = (): void => settle({ error: abortReason(signal as AbortSignal) });
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('data', (chunk: Buffer) => {
        try {
          const answer = parser.feed(chunk);
          if (answer !== undefined) settle({ answer });
        } catch (error) {
          settle({ error: error instanceof Error ? error : new Error(String(error)) });
        }
      });
      socket.once('error', (error) => settle({ error }));
      socket.once('close', () => {
        try {
          settle({ answer: parser.closed() });
        } catch (error) {
          settle({ error: error instanceof Error ? error : new Error(String(error)) });
        }
      });
      const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
      const onWritten = init.onWritten;
      socket.write(encodeRequest(url, init, body), (error) => {
        if (error === undefined || error === null) onWritten?.();
      });
    });
}
