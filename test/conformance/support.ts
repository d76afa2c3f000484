/**
 * Helpers for the conformance suite: a real homeserver on 127.0.0.1 port 0, and thin fetch wrappers.
 *
 * Every test talks HTTP to the server exactly as a client would; nothing reaches into its internals except
 * through the admin surface (`AdminClient`), which is the oracle's documented window.
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AdminClient } from '../../src/homeserver/admin-client';
import { SLIDING_SYNC_PATH } from '../../src/shared/wire';

export interface TestServer {
  /** What `todevice serve` printed on its first stdout line. */
  server: { url: string; adminToken: string; serverName: string };
  admin: AdminClient;
  url: string;
  /** Every line the homeserver logged on stderr; tests assert no unexpected error appeared. */
  logs: string[];
  /** Stops the server with SIGTERM, as a user would, and waits for it to exit. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  dbPath?: string;
  serverName?: string;
  /** A fixed port (to restart a server where clients expect it); default 0, any free port. */
  port?: number;
  /** `--compat synapse`: the server answers the to-device extension as Synapse does. */
  compat?: 'synapse';
}

const cliEntry = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));

/**
 * Starts a real `todevice serve --port 0` child process, exactly as a user or another tool would, and reads
 * where it listens from its first stdout line. The suite therefore tests the shipped command, not a library call.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const args = [cliEntry, 'serve', '--port', String(options.port ?? 0), '--db', options.dbPath ?? ':memory:'];
  if (options.serverName !== undefined) args.push('--server-name', options.serverName);
  if (options.compat !== undefined) args.push('--compat', options.compat);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  readline.createInterface({ input: child.stderr }).on('line', (line) => logs.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(line));
    void exited.then((code) => reject(new Error(`todevice serve exited with ${code}: ${logs.join('\n')}`)));
  });
  const info = JSON.parse(firstLine) as { url: string; admin_token: string; server_name: string };
  return {
    server: { url: info.url, adminToken: info.admin_token, serverName: info.server_name },
    url: info.url,
    admin: new AdminClient(info.url, info.admin_token),
    logs,
    close: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`todevice serve exited with ${code} after SIGTERM: ${logs.join('\n')}`);
    },
  };
}

/** Runs `todevice serve --port 0 ARGS` expecting it to refuse to start; returns its exit code and stderr. */
export async function runServeExpectingFailure(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cliEntry, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  if (code === 0) throw new Error('todevice serve was expected to fail but exited 0');
  return { code, stderr };
}

export interface ApiResponse {
  status: number;
  // Tests read arbitrary JSON fields; each assertion checks the shape it relies on.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent verbatim instead of `JSON.stringify(body)`. */
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function api(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await fetch(baseUrl + path, { method, headers, body, signal: options.signal });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

export interface TestUser {
  userId: string;
  deviceId: string;
  accessToken: string;
  password: string;
}

let nameCounter = 0;

/** A fresh, valid localpart, unique within this test process. */
export function uniqueName(prefix = 'user'): string {
  nameCounter += 1;
  return `${prefix}${nameCounter}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function register(baseUrl: string, deviceId = 'DEVICE_A', username = uniqueName()): Promise<TestUser> {
  const password = 'correct horse';
  const response = await api(baseUrl, 'POST', '/_matrix/client/v3/register', {
    body: { username, password, device_id: deviceId, auth: { type: 'm.login.dummy' } },
  });
  if (response.status !== 200) throw new Error(`register failed: ${JSON.stringify(response.body)}`);
  return { userId: response.body.user_id, deviceId: response.body.device_id, accessToken: response.body.access_token, password };
}

/** Logs the same user in again, as another process of the same (or a new) device. */
export async function login(baseUrl: string, user: TestUser, deviceId: string): Promise<TestUser> {
  const response = await api(baseUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: user.password, device_id: deviceId },
  });
  if (response.status !== 200) throw new Error(`login failed: ${JSON.stringify(response.body)}`);
  return { ...user, deviceId: response.body.device_id, accessToken: response.body.access_token };
}

let txnCounter = 0;

export async function sendToDevice(
  baseUrl: string,
  sender: TestUser,
  messages: Record<string, Record<string, Record<string, unknown>>>,
  type = 'org.example.test',
  txnId = `txn${(txnCounter += 1)}`,
): Promise<ApiResponse> {
  return api(baseUrl, 'PUT', `/_matrix/client/v3/sendToDevice/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`, {
    token: sender.accessToken,
    body: { messages },
  });
}

/** Sends `count` messages `{n: 0..count-1}` from `sender` to one device, one request each (in order). */
export async function sendNumbered(baseUrl: string, sender: TestUser, to: TestUser, count: number, start = 0): Promise<void> {
  for (let n = start; n < start + count; n += 1) {
    const response = await sendToDevice(baseUrl, sender, { [to.userId]: { [to.deviceId]: { n } } });
    if (response.status !== 200) throw new Error(`sendToDevice failed: ${JSON.stringify(response.body)}`);
  }
}

export interface SlidingSyncCall {
  pos?: string;
  timeoutMs?: number;
  body?: unknown;
  path?: string;
  signal?: AbortSignal;
}

export async function slidingSync(baseUrl: string, user: TestUser, call: SlidingSyncCall = {}): Promise<ApiResponse> {
  const query = new URLSearchParams();
  if (call.pos !== undefined) query.set('pos', call.pos);
  if (call.timeoutMs !== undefined) query.set('timeout', String(call.timeoutMs));
  const suffix = query.size > 0 ? `?${query.toString()}` : '';
  return api(baseUrl, 'POST', `${call.path ?? SLIDING_SYNC_PATH}${suffix}`, {
    token: user.accessToken,
    body: call.body ?? {},
    signal: call.signal,
  });
}

/** A sliding sync request body with only the to-device extension. */
export function toDeviceBody(ext: Record<string, unknown>, key = 'to_device'): Record<string, unknown> {
  return { conn_id: 'main', extensions: { [key]: { enabled: true, ...ext } } };
}

/** The numbers carried by events sent with `sendNumbered`. */
export function numbers(events: Array<{ content: { n?: unknown } }> | undefined): unknown[] {
  return (events ?? []).map((event) => event.content.n);
}
