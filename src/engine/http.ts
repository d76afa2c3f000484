/**
 * One JSON request to a Matrix homeserver, with every expected failure returned as a value.
 *
^ * Runtime: node (over any `FetchLike` transport). Failure kinds (STYLE.md "Errors"):
 * - `network`: no HTTP answer (connection refused or reset, DNS, our own request timeout);
 * - `http`: an HTTP answer we cannot use: a non-2xx status with its Matrix `errcode`, or a 2xx whose body is not
 *   the JSON we expect (then `status` is the 2xx and `errcode` is undefined). A 429's `retry_after_ms` (body) or
 *   `Retry-After` header (seconds) becomes `retryAfterMs`; the parsed error `body` rides along (a UIA 401 needs it);
 * - `unknown-pos`: sliding sync's 400 `M_UNKNOWN_POS` (MSC3575): the connection is gone, open a new one;
 * - `aborted`: the caller's signal aborted the request (shutdown, or the lease holder giving way).
 * Nothing here throws for a server's misbehaviour; it only throws on programmer errors.
 */
import { isMatrixErrorBody } from '../shared/matrix-errors';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';

export type MatrixClientError =
  | { kind: 'network'; message: string }
  | { kind: 'http'; status: number; errcode?: string; message: string; retryAfterMs?: number; body?: unknown }
  | { kind: 'unknown-pos'; message: string }
  | { kind: 'aborted' };

export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  accessToken?: string;
  signal?: AbortSignal;
  /** Client-side ceiling for the whole request. */
  timeoutMs: number;
  /** Called when the response headers arrived: the server has acted on the request. */
  onResponseHeaders?: () => void;
  /** Called once the request has been written out and the answer is awaited, if the transport can tell. */
  onRequestWritten?: () => void;
}

/** What `requestJson` passes to the transport (a subset of fetch's `RequestInit`). */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Called once the request has been written out, if the transport can tell (`nodeHttpFetch` does). */
  onWritten?: () => void;
}

/** What `requestJson` reads of an answer (a subset of fetch's `Response`). */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * The transport: the global `fetch` fits, tests inject fakes, and `MatrixClient` uses `nodeHttpFetch`
 * (node-http-fetch.ts) by default.
 */
export type FetchLike = (input: string, init: FetchInit) => Promise<FetchResponse>;

export async function requestJson(
  fetchImpl: FetchLike,
  baseUrl: string,
  request: JsonRequest,
): Promise<Result<unknown, MatrixClientError>> {
  const deadline = new RequestDeadline(request.timeoutMs, request.signal);
  try {
    let response: FetchResponse;
    try {
      response = await fetchImpl(buildUrl(baseUrl, request), {
        method: request.method,
        headers: headersFor(request),
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        ...(request.onRequestWritten === undefined ? {} : { onWritten: request.onRequestWritten }),
        signal: deadline.signal,
      });
    } catch (error) {
      return fetchFailure(error, request.signal, deadline);
    }
    // Outside the try on purpose: a kill point here must not be mistaken for a network error.
    request.onResponseHeaders?.();
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return fetchFailure(error, request.signal, deadline);
    }
    return interpret(response, text);
  } finally {
    deadline.clear();
  }
}

/**
 * One signal that aborts when the caller's does or when `timeoutMs` passed, cleared when the request is done.
 * Why not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: that leaves a timer and two signals alive for the
 * whole timeout after every request (30 s and more), tens of thousands of them in a drain, and costs several
 * times this to build.
 */
class RequestDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort: (() => void) | undefined;
  timedOut = false;

  constructor(
    timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new DOMException('request timed out', 'TimeoutError'));
    }, timeoutMs);
    // As `AbortSignal.timeout`'s: the deadline alone does not keep the process alive.
    this.timer.unref();
    if (callerSignal !== undefined) {
      const onCallerAbort = (): void => this.controller.abort(callerSignal.reason);
      this.onCallerAbort = onCallerAbort;
      if (callerSignal.aborted) onCallerAbort();
      else callerSignal.addEventListener('abort', onCallerAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  clear(): void {
    clearTimeout(this.timer);
    if (this.onCallerAbort !== undefined) this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

function fetchFailure(error: unknown, callerSignal: AbortSignal | undefined, deadline: RequestDeadline): { ok: false; error: MatrixClientError } {
  if (callerSignal?.aborted === true) return err({ kind: 'aborted' });
  return err({ kind: 'network', message: deadline.timedOut ? 'request timed out' : describeError(error) });
}

function buildUrl(baseUrl: string, request: JsonRequest): string {
  const url = new URL(request.path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  return url.toString();
}

function headersFor(request: JsonRequest): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (request.accessToken !== undefined) headers.authorization = `Bearer ${request.accessToken}`;
  return headers;
}

function interpret(response: FetchResponse, text: string): Result<unknown, MatrixClientError> {
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) {
    if (body === undefined) return err({ kind: 'http', status: response.status, message: 'response body is not JSON' });
    return ok(body);
  }
  const errcode = isMatrixErrorBody(body) ? body.errcode : undefined;
  const message = isMatrixErrorBody(body) ? body.error : `HTTP ${response.status}`;
  if (errcode === 'M_UNKNOWN_POS') return err({ kind: 'unknown-pos', message });
  const retryAfterMs = retryAfter(response, body);
  return err({
    kind: 'http',
    status: response.status,
    errcode,
    message,
    body,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

function retryAfter(response: FetchResponse, body: unknown): number | undefined {
  const fromBody = (body as { retry_after_ms?: unknown } | undefined)?.retry_after_ms;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  const header = response.headers.get('retry-after');
  const seconds = header === null ? NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}

/** Whether a failed request may be retried with the same `since` after a backoff. */
export function isRetryable(error: MatrixClientError): boolean {
  if (error.kind === 'network') return true;
  if (error.kind !== 'http') return false;
  return error.status === 429 || error.status >= 500 || (error.status >= 200 && error.status < 300);
}
