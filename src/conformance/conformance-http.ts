/**
 * The HTTP a conformance case speaks: plain Client-Server API calls to any homeserver, with the answer's status
 * and JSON body, and the few requests every case needs (log in a device, send numbered to-device messages,
 * one sliding sync request with the to-device extension).
 *
 * Runtime: node. Nothing here knows todevice's homeserver: the cases must judge any server by what it answers.
 * Network failures become `ConformanceNetworkError` with the URL and the system's reason in one line; access
 * tokens and passwords never appear in an error or a log line.
 */
import { SLIDING_SYNC_PATH, TO_DEVICE_EXTENSION } from '../shared/wire';

export interface HttpAnswer {
  status: number;
  /** The parsed JSON body; undefined for an empty or non-JSON body. */
  body: unknown;
}

export class ConformanceNetworkError extends Error {
  override name = 'ConformanceNetworkError';
}

/** A device of a test account, as login or registration returned it. */
export interface TestDevice {
  userId: string;
  deviceId: string;
  accessToken: string;
}

/** The credentials a case logs fresh devices in with. */
export interface TestAccount {
  userId: string;
  password: string;
}

export class ConformanceHttp {
  private txnCounter = 0;
  private readonly runId = Math.random().toString(36).slice(2, 10);

  constructor(readonly baseUrl: string, private readonly requestTimeoutMs = 30_000) {}

  async call(method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (error) {
      throw new ConformanceNetworkError(`${method} ${this.baseUrl}${path.split('?')[0]}: ${networkReason(error)}`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  }

  /** Logs a new device of `account` in; every case uses devices of its own, so cases cannot disturb each other. */
  async loginNewDevice(account: TestAccount): Promise<TestDevice> {
    const answer = await this.call('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: account.userId }, password: account.password },
    });
    const body = asObject(answer.body);
    if (answer.status !== 200 || typeof body.access_token !== 'string' || typeof body.device_id !== 'string') {
      throw new ConformanceNetworkError(`cannot log ${account.userId} in: ${describeAnswer(answer)}`);
    }
    return { userId: account.userId, deviceId: body.device_id, accessToken: body.access_token };
  }

  /** Sends `count` messages `{n, run}` to one device, one request each, in order; throws unless each got 200. */
  async sendNumbered(from: TestDevice, to: TestDevice, count: number, start = 0): Promise<void> {
    for (let n = start; n < start + count; n += 1) {
      this.txnCounter += 1;
      const path = `/_matrix/client/v3/sendToDevice/org.todevice.conformance/${this.runId}-${this.txnCounter}`;
      const answer = await this.call('PUT', path, {
        token: from.accessToken,
        body: { messages: { [to.userId]: { [to.deviceId]: { n, run: this.runId } } } },
      });
      if (answer.status !== 200) throw new ConformanceNetworkError(`sendToDevice refused: ${describeAnswer(answer)}`);
    }
  }

  /** One simplified sliding sync request; `extension` is the to-device extension's body under `key`. */
  async slidingSync(
    device: TestDevice,
    extension: Record<string, unknown> | undefined,
    options: { pos?: string; timeoutMs?: number; key?: string; connId?: string } = {},
  ): Promise<HttpAnswer> {
    const query = new URLSearchParams();
    if (options.pos !== undefined) query.set('pos', options.pos);
    if (options.timeoutMs !== undefined) query.set('timeout', String(options.timeoutMs));
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    const extensions = extension === undefined ? {} : { [options.key ?? TO_DEVICE_EXTENSION]: extension };
    return this.call('POST', SLIDING_SYNC_PATH + suffix, {
      token: device.accessToken,
      body: { conn_id: options.connId ?? 'conformance', extensions },
    });
  }
}

/** The to-device section of a sliding sync answer under `key`, or undefined. */
export function toDeviceSection(answer: HttpAnswer, key = TO_DEVICE_EXTENSION): { next_batch?: unknown; events?: unknown } | undefined {
  const extensions = asObject(asObject(answer.body).extensions);
  const section = extensions[key];
  return typeof section === 'object' && section !== null ? (section as { next_batch?: unknown; events?: unknown }) : undefined;
}

/** The `n` of each numbered event in a to-device section (events of other shapes read as undefined). */
export function numbersIn(section: { events?: unknown } | undefined): unknown[] {
  const events = Array.isArray(section?.events) ? section.events : [];
  return events.map((event) => asObject(asObject(event).content).n);
}

export function errcodeOf(answer: HttpAnswer): unknown {
  return asObject(answer.body).errcode;
}

/** `200`, or `400 M_INVALID_PARAM: <error>`: enough to tell a reader what the server said. */
export function describeAnswer(answer: HttpAnswer): string {
  const body = asObject(answer.body);
  if (answer.status === 200) return '200';
  const code = typeof body.errcode === 'string' ? ` ${body.errcode}` : '';
  const message = typeof body.error === 'string' ? `: ${body.error.slice(0, 160)}` : '';
  return `${answer.status}${code}${message}`;
}

export function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (is a homeserver listening there?)';
  if (cause?.code === 'ENOTFOUND') return 'host not found';
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}
