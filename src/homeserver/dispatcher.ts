/**
 * Turns one `node:http` request into a routed handler call and one Matrix JSON response.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - Every response is JSON with a Matrix body: handlers' results, `{errcode, error}` for expected failures,
 *   404/405 `M_UNRECOGNIZED` for unknown routes or methods, 413 `M_TOO_LARGE` over the body cap, 400
 *   `M_NOT_JSON` for unparseable JSON. An unexpected exception becomes 500 `M_UNKNOWN` and is logged; the fuzz
 *   test asserts that never happens for bad input.
 * - An oversized body is drained, not cut off, so the client reads the 413 instead of a reset connection.
 * - Fault replies: `drop` destroys the socket after the handler has done all its work (the client sees a reset
 *   while the server acknowledged), `delay` holds the computed response back.
 * - CORS headers on every response and `OPTIONS` answered for any path, as the Client-Server API requires.
 * - A body that is already JSON text (`JsonText`, json-text.ts) is written as it is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrCode } from '../shared/matrix-errors';
import { MatrixError } from './errors';
import { JsonText } from './json-text';
import type { Reply, Router, RouteRequest } from './router';

/** Largest request body accepted; sendToDevice's per-message 65536-byte limit is checked separately. */
export const MAX_BODY_BYTES = 1024 * 1024;

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization',
};

export interface DispatcherOptions {
  router: Router;
  log: (line: string) => void;
  /** Aborted when the homeserver closes: ends long polls and delays. */
  serverSignal: AbortSignal;
}

export function createDispatcher(options: DispatcherOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    dispatch(options, req, res).catch((error: unknown) => {
      // dispatch() already maps every handler error; reaching here means writing the response itself failed.
      options.log(`homeserver: failed to answer ${req.method} ${req.url}: ${String(error)}`);
    });
  };
}

async function dispatch(options: DispatcherOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const abort = new RequestAbort(res, options.serverSignal);
  let reply: Reply | undefined;
  try {
    reply = await route(options, req, abort);
  } catch (error) {
    // A client that went away (or a server closing under a request) cannot be answered; an error raised by
    // that, such as the database being closed during shutdown, is not a bug worth reporting.
    if (abort.aborted) return;
    reply = errorReply(error, req, options.log);
  }
  if (reply === undefined || abort.aborted) return;
  if (reply.fault?.kind === 'drop') {
    req.socket.destroy();
    return;
  }
  if (reply.fault?.kind === 'delay') await sleep(reply.fault.delayMs, abort.signal);
  if (abort.aborted || res.writableEnded) return;
  sendJson(res, reply.status, reply.body);
}

async function route(options: DispatcherOptions, req: IncomingMessage, abort: RequestAbort): Promise<Reply | undefined> {
  const method = req.method ?? 'GET';
  const rawUrl = req.url ?? '/';
  const queryStart = rawUrl.indexOf('?');
  const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
  const query = new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1));
  const bodyBytes = await readBody(req);
  if (method === 'OPTIONS') return { status: 200, body: {} };
  const match = options.router.match(method, path);
  if (match.kind === 'not-found') throw new MatrixError(404, ErrCode.unrecognized, `unrecognized request: ${method} ${path}`);
  if (match.kind === 'method-not-allowed') throw new MatrixError(405, ErrCode.unrecognized, `method ${method} not allowed here`);
  const request: RouteRequest = {
    method,
    path,
    params: match.params,
    query,
    headers: req.headers,
    body: match.route.hasBody === true ? parseJson(bodyBytes) : undefined,
    // Built on first use: most requests never wait on anything, and a combined signal costs each of them
    // tens of microseconds (an AbortController, AbortSignal.any's bookkeeping, the garbage both leave).
    get signal() {
      return abort.signal;
    },
  };
  return match.route.handle(request);
}

/** Reads the whole body, draining (and discarding) anything beyond the cap so the 413 reaches the client. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new MatrixError(413, ErrCode.tooLarge, `request body over ${MAX_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function parseJson(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MatrixError(400, ErrCode.notJson, 'request body is not valid JSON');
  }
}

function errorReply(error: unknown, req: IncomingMessage, log: (line: string) => void): Reply {
  if (error instanceof MatrixError) return { status: error.status, body: error.body() };
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  log(`homeserver: unexpected error on ${req.method} ${req.url}: ${detail}`);
  return { status: 500, body: { errcode: ErrCode.unknown, error: 'internal server error' } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = body instanceof JsonText ? body.text : JSON.stringify(body);
  res.writeHead(status, {
    ...CORS_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Whether a request can no longer be answered: its connection closed before the response was written, or the
 * server is closing. `aborted` is a plain check; `signal` (for long polls and delays) is made on first use and
 * is aborted for the same two reasons, including one that happened before it was asked for.
 */
class RequestAbort {
  private clientGone = false;
  private controller: AbortController | undefined;
  private combined: AbortSignal | undefined;

  constructor(
    res: ServerResponse,
    private readonly serverSignal: AbortSignal,
  ) {
    res.once('close', () => {
      if (res.writableFinished) return;
      this.clientGone = true;
      this.controller?.abort();
    });
  }

  get aborted(): boolean {
    return this.clientGone || this.serverSignal.aborted;
  }

  get signal(): AbortSignal {
    if (this.combined === undefined) {
      this.controller = new AbortController();
      if (this.clientGone) this.controller.abort();
      this.combined = AbortSignal.any([this.controller.signal, this.serverSignal]);
    }
    return this.combined;
  }
}

/** Resolves after `delayMs`, or early when the signal aborts. */
export function sleep(delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
