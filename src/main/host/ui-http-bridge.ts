/**
 * The browser-mode transport of the UI API: serves the built dashboard and carries the same channels as the
 * Electron preload, over `POST /api/call/:channel` (request and `UiResult` as JSON) and `GET /api/events`
 * (Server-Sent Events pushing `snapshot:changed`).
 *
 * Runtime: node (no Electron). Guarantees:
 * - Only the holder of this launch's secret can drive or read the app. Loopback is shared by every user and
 *   process of the machine, so listening on 127.0.0.1 alone would let any of them kill processes, switch the
 *   strategy or read the snapshot. Every call and the event stream must carry `Authorization: Bearer <secret>`;
 *   without it they get 401 and a one-line JSON `UiResult` error, before the body is read. The secret is made
 *   per launch (32 random bytes) and travels to the page only in the fragment of `launchUrl`
 *   (`http://127.0.0.1:PORT/#token=…`): a browser never sends a fragment to a server, so it appears in no request
 *   line, log or `Referer`; the page moves it into the header (src/renderer/transport.ts). It is compared in
 *   constant time. Static files (the dashboard's own code) are public: they hold nothing of the app's state.
 * - It listens on loopback only and answers only requests whose `Host` names a loopback address, so a web page
 *   elsewhere cannot reach it through DNS rebinding. A call must be `application/json` and, when the browser
 *   sends an `Origin`, same-origin: a cross-site page can then neither post a "simple" request nor pass the
 *   CORS preflight this server never answers (the `Authorization` header alone would need one).
 * - A call never crashes the server: an unknown channel, a body that is not a JSON object or too large, and a
 *   backend that throws all come back as a `UiResult` error (400, 400/413, 500) in the same shape as a
 *   backend's own expected failure, so the client has one error path.
 * - Static files are served only from inside `staticDir` (after resolving symlinks), with their content type,
 *   `nosniff` and the same Content Security Policy as the page's meta tag.
 * - Each event stream gets the current snapshot at once, then every snapshot the backend publishes; a slow
 *   reader is sent only the newest one when it catches up, because an older snapshot is of no use.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  SNAPSHOT_CHANGED,
  UI_CHANNELS,
  type DashboardSnapshot,
  type UiBackend,
  type UiChannel,
  type UiResult,
} from '../../shared/ui-api';
import { invokeUiChannel, isArgsObject, uiFailure as failure } from './ui-invoke';

export interface UiHttpBridgeOptions {
  backend: UiBackend;
  /** The built renderer (`out/renderer`), holding `index.html` and `assets/`. */
  staticDir: string;
  host: '127.0.0.1';
  /** 0 picks a free port. */
  port: number;
  /** The secret calls must carry; default: 32 random bytes made for this launch. Tests pass their own. */
  secret?: string;
  log?: (line: string) => void;
}

export interface UiHttpBridge {
  /** `http://127.0.0.1:PORT`, without a trailing slash and without the secret: safe to log. */
  url: string;
  /**
   * `http://127.0.0.1:PORT/#token=SECRET`: the one URL that opens a working dashboard. Print it once, to the user
   * who started the app, and nowhere else.
   */
  launchUrl: string;
  close(): Promise<void>;
}

export const CALL_PATH_PREFIX = '/api/call/';
export const EVENTS_PATH = '/api/events';
/** The fragment key of `launchUrl` that carries the secret. */
export const LAUNCH_TOKEN_KEY = 'token';
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const maxCallBodyBytes = 64 * 1024;
const heartbeatIntervalMs = 15_000;
const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};
const securityHeaders = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

export async function startUiHttpBridge(options: UiHttpBridgeOptions): Promise<UiHttpBridge> {
  const staticRoot = fs.realpathSync(options.staticDir);
  const streams = new Set<http.ServerResponse>();
  const log = options.log ?? (() => {});
  const secret = options.secret ?? randomBytes(32).toString('base64url');
  if (secret.length < 16) throw new Error('the UI bridge secret must be at least 16 characters');
  const authorized = secretChecker(secret);
  const server = http.createServer((request, response) => {
    route(request, response, { ...options, staticRoot, streams, log, authorized }).catch((error: unknown) => {
      // Every expected failure is answered inside route(); reaching here is a bug, but one request's bug must
      // not take the dashboard down with it.
      log(`ui-http-bridge: internal error: ${error instanceof Error ? error.stack : String(error)}`);
      if (!response.headersSent) sendResult(response, 500, failure('internal', 'internal error in the UI bridge'));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host}:${port}`;
  return {
    url,
    launchUrl: `${url}/#${LAUNCH_TOKEN_KEY}=${encodeURIComponent(secret)}`,
    close: () => closeServer(server, streams),
  };
}

interface RouteContext extends UiHttpBridgeOptions {
  staticRoot: string;
  streams: Set<http.ServerResponse>;
  log: (line: string) => void;
  authorized: (request: http.IncomingMessage) => boolean;
}

/**
 * Whether a request carries `Authorization: Bearer <secret>`. Both sides are hashed first so the constant-time
 * comparison sees equal lengths and the secret's length leaks nothing either.
 */
function secretChecker(secret: string): (request: http.IncomingMessage) => boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  const expected = digest(secret);
  return (request) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
}

async function route(request: http.IncomingMessage, response: http.ServerResponse, context: RouteContext): Promise<void> {
  if (!isLoopbackHost(request.headers.host)) {
    sendResult(response, 403, failure('forbidden-host', 'the UI bridge answers only requests to a loopback host'));
    return;
  }
  const pathname = new URL(request.url ?? '/', 'http://loopback').pathname;
  const isApi = pathname.startsWith(CALL_PATH_PREFIX) || pathname === EVENTS_PATH;
  if (isApi && !context.authorized(request)) {
    // Answered before the body is read or the backend is touched: without the secret nothing happens.
    request.resume();
    response.setHeader('www-authenticate', 'Bearer');
    sendResult(response, 401, failure('unauthorized', "this launch's secret is required: open the URL that todevice start printed"));
    return;
  }
  if (pathname.startsWith(CALL_PATH_PREFIX)) {
    await handleCall(request, response, pathname.slice(CALL_PATH_PREFIX.length), context.backend);
  } else if (pathname === EVENTS_PATH) {
    await handleEvents(request, response, context);
  } else if (request.method === 'GET' || request.method === 'HEAD') {
    await serveStatic(request, response, pathname, context.staticRoot);
  } else {
    sendResult(response, 405, failure('method-not-allowed', `${request.method ?? '?'} ${pathname} is not supported`));
  }
}

async function handleCall(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  rawChannel: string,
  backend: UiBackend,
): Promise<void> {
  const channel = decodeChannel(rawChannel);
  if (request.method !== 'POST') {
    sendResult(response, 405, failure('method-not-allowed', 'calls are POST requests'));
    return;
  }
  if (channel === undefined) {
    sendResult(response, 400, failure('unknown-channel', `unknown channel "${rawChannel.slice(0, 80)}"`));
    return;
  }
  const refusal = refuseCrossSite(request);
  if (refusal) {
    sendResult(response, 403, refusal);
    return;
  }
  const body = await readBody(request, maxCallBodyBytes);
  if (!body.ok) {
    sendResult(response, 413, body);
    return;
  }
  const args = parseArgs(body.value);
  if (!args.ok) {
    sendResult(response, 400, args);
    return;
  }
  sendResult(response, 200, await invokeUiChannel(backend, channel, args.value));
}

function decodeChannel(raw: string): UiChannel | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return UI_CHANNELS.find((channel) => channel === decoded);
}

function refuseCrossSite(request: http.IncomingMessage): UiResult<never> | undefined {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    return failure('bad-content-type', 'calls must be sent as application/json');
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) {
    return failure('cross-origin', `calls from ${origin} are not accepted`);
  }
  return undefined;
}

function parseArgs(text: string): UiResult<object> {
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return failure('bad-json', 'the request body is not valid JSON');
  }
  if (!isArgsObject(value)) {
    return failure('bad-json', 'the request body must be a JSON object (the channel arguments)');
  }
  return { ok: true, value };
}

async function handleEvents(request: http.IncomingMessage, response: http.ServerResponse, context: RouteContext): Promise<void> {
  if (request.method !== 'GET') {
    sendResult(response, 405, failure('method-not-allowed', 'the event stream is a GET request'));
    return;
  }
  response.writeHead(200, {
    ...securityHeaders,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  response.flushHeaders();
  context.streams.add(response);
  const writer = snapshotWriter(response);
  const unsubscribe = context.backend.subscribe(writer);
  const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), heartbeatIntervalMs);
  response.once('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
    context.streams.delete(response);
  });
  const first = await invokeUiChannel(context.backend, 'snapshot:get', {});
  if (first.ok) writer(first.value as DashboardSnapshot);
  else context.log(`ui-http-bridge: snapshot:get failed: ${first.error.message}`);
}

/** Writes snapshots to one stream; while the socket is full it keeps only the newest one. */
function snapshotWriter(response: http.ServerResponse): (snapshot: DashboardSnapshot) => void {
  let waitingForDrain = false;
  let newest: DashboardSnapshot | undefined;
  const write = (snapshot: DashboardSnapshot): void => {
    if (response.writableEnded || response.destroyed) return;
    if (waitingForDrain) {
      newest = snapshot;
      return;
    }
    const flushed = response.write(`event: ${SNAPSHOT_CHANGED}\ndata: ${JSON.stringify(snapshot)}\n\n`);
    if (!flushed) {
      waitingForDrain = true;
      response.once('drain', () => {
        waitingForDrain = false;
        const pending = newest;
        newest = undefined;
        if (pending) write(pending);
      });
    }
  };
  return write;
}

async function serveStatic(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  pathname: string,
  staticRoot: string,
): Promise<void> {
  const file = await resolveStaticFile(staticRoot, pathname);
  if (file === undefined) {
    response.writeHead(404, { ...securityHeaders, 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  const body = await fs.promises.readFile(file);
  response.writeHead(200, {
    ...securityHeaders,
    'content-type': contentTypes[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/**
 * Maps a URL path to a regular file inside `staticRoot`, or undefined. The check runs on the real path, after
 * `..`, encoded separators and symlinks are resolved, so no spelling of a path escapes the folder.
 */
export async function resolveStaticFile(staticRoot: string, pathname: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  try {
    const real = await fs.promises.realpath(path.resolve(staticRoot, relative));
    const inside = path.relative(staticRoot, real);
    if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return undefined;
    return (await fs.promises.stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

function readBody(request: http.IncomingMessage, maxBytes: number): Promise<UiResult<string>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > maxBytes) resolve(failure('too-large', `the request body is over ${maxBytes} bytes`));
      else resolve({ ok: true, value: Buffer.concat(chunks).toString('utf8') });
    });
    request.on('error', (error) => resolve(failure('bad-request', error.message)));
  });
}

function sendResult(response: http.ServerResponse, status: number, result: UiResult<unknown>): void {
  const body = JSON.stringify(result);
  response.writeHead(status, {
    ...securityHeaders,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false;
  const hostname = hostHeader.replace(/:\d+$/, '');
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

async function closeServer(server: http.Server, streams: Set<http.ServerResponse>): Promise<void> {
  // Event streams never end on their own, so close() would wait for them forever.
  for (const stream of streams) stream.end();
  streams.clear();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
