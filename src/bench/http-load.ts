/**
 * A lean HTTP/1.1 load generator: `connections` kept-alive TCP connections to one server, each with one request
 * in flight at a time (no pipelining), until `count` requests have been answered. Case 6 drives both the
 * homeserver and the bare HTTP ceiling with it.
 *
 * Why not `MatrixClient`: a load generator shares this machine's two cores with the server it measures. Through
 * the project's client every request also paid for a URL parse, an agent, header objects, a `Result` and a JSON
 * parse of the answer, in the measuring process; the server then waited on its client, and the figure said more
 * about the client than about the server. Here a request is one prebuilt buffer written to a socket, and an
 * answer is its status line and `Content-Length` found in the bytes, so the generator stays well below the
 * server's own cost and the server is what is measured.
 *
 * What it checks: every answer is HTTP/1.1 with a `Content-Length` (what both servers it drives send), and its
 * status is 200; anything else is collected as a failure with its status and the start of its body. A
 * connection that closes or errors fails the run with that error. It sends nothing to any host but `host:port`.
 *
 * Runtime: node.
 */
import net from 'node:net';
import { nowMs, perSecond } from './stats';

export interface LoadRequest {
  method: 'PUT' | 'POST';
  /** Path and query, already encoded. */
  path: string;
  /** `Authorization: Bearer …`, or none. Never printed. */
  accessToken?: string;
  /** JSON text. */
  body: string;
}

export interface LoadResult {
  /** Answered requests per second, from the first write to the last answer. */
  perS: number;
  /** One line per request not answered 200: its status and the start of its body. */
  failures: string[];
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** The request as the bytes one write sends. */
export function encodeRequest(request: LoadRequest, host: string): Buffer {
  const body = Buffer.from(request.body, 'utf8');
  const auth = request.accessToken === undefined ? '' : `Authorization: Bearer ${request.accessToken}\r\n`;
  const head =
    `${request.method} ${request.path} HTTP/1.1\r\nHost: ${host}\r\n${auth}` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export interface ParsedAnswer {
  status: number;
  body: Buffer;
  /** Bytes of `buffer` this answer took. */
  length: number;
}

/** The first whole answer in `buffer`, or null when more bytes are needed. Throws on what it cannot read. */
export function parseAnswer(buffer: Buffer): ParsedAnswer | null {
  const headerEnd = buffer.indexOf(HEADER_END);
  if (headerEnd < 0) return null;
  const head = buffer.toString('latin1', 0, headerEnd);
  const statusMatch = /^HTTP\/1\.1 (\d{3})/.exec(head);
  if (statusMatch === null) throw new Error(`http load: not an HTTP/1.1 answer: ${JSON.stringify(head.slice(0, 40))}`);
  const lengthMatch = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (lengthMatch === null) throw new Error('http load: an answer without Content-Length (chunked answers are not read here)');
  const bodyStart = headerEnd + HEADER_END.length;
  const bodyEnd = bodyStart + Number(lengthMatch[1]);
  if (buffer.length < bodyEnd) return null;
  return { status: Number(statusMatch[1]), body: buffer.subarray(bodyStart, bodyEnd), length: bodyEnd };
}

/** One connection sending requests `take()` hands it, one at a time, until `take()` returns null. */
function runConnection(port: number, host: string, take: () => Buffer | null, failures: string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect({ port, host, noDelay: true });
    let pending: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const sendNext = (): void => {
      const request = take();
      if (request === null) finish();
      else socket.write(request);
    };
    socket.once('connect', sendNext);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let answer: ParsedAnswer | null;
      try {
        answer = parseAnswer(pending);
      } catch (error) {
        finish(error as Error);
        return;
      }
      if (answer === null) return;
      if (answer.status !== 200) failures.push(`${answer.status} ${answer.body.toString('utf8', 0, Math.min(answer.body.length, 200))}`);
      pending = pending.subarray(answer.length);
      sendNext();
    });
    socket.once('error', (error) => finish(new Error(`http load: ${error.message}`)));
    // After `finish` this changes nothing; before it, a request was in flight.
    socket.once('close', () => finish(new Error('http load: the server closed a connection with a request in flight')));
  });
}

/**
 * Sends `count` requests, `requestAt(i)` for i = 0 … count − 1 in order of sending, over `connections`
 * connections to `url` (http only), and resolves once all are answered.
 */
export async function driveLoad(url: string, connections: number, count: number, requestAt: (index: number) => LoadRequest): Promise<LoadResult> {
  const { hostname, port, protocol, host } = new URL(url);
  if (protocol !== 'http:') throw new Error(`http load: only http URLs, not ${protocol}`);
  let next = 0;
  const take = (): Buffer | null => (next < count ? encodeRequest(requestAt(next++), host) : null);
  const failures: string[] = [];
  const startedMs = nowMs();
  await Promise.all(Array.from({ length: connections }, () => runConnection(Number(port), hostname, take, failures)));
  return { perS: perSecond(count, nowMs() - startedMs), failures };
}
