/**
 * Reads one HTTP/1.1 answer (RFC 9112) from the bytes of a connection as they arrive: the status line, the
 * header fields and the body, whichever way the body is delimited. `socket-http-fetch.ts` feeds it.
 *
 * Runtime: node (`Buffer`; no I/O). What it reads:
 * - interim answers (1xx other than 101) are skipped whole; the answer that follows is the one returned;
 * - a body delimited by `Content-Length`, by the chunked transfer coding (chunk extensions and trailer fields
 *   are read and dropped), or, with neither, by the connection closing (`closed()`); none at all for 204, 304
 *   and the answer to a HEAD request;
 * - whether the connection may carry another request: only when the body was delimited, the server did not
 *   say `Connection: close`, and an HTTP/1.0 server said `Connection: keep-alive`.
 * What it refuses, with a one-line error naming the fault: a status line that is not HTTP/1.x, a header block
 * over `MAX_HEAD_BYTES`, a header line without a colon, a `Content-Length` that is not one decimal number,
 * a chunk size that is not hexadecimal, chunk data not followed by CRLF. Nothing is guessed: what it cannot read
 * fails the request, and the caller closes the connection.
 */

/** Header blocks larger than this are refused: no answer this client asks for comes near it. */
export const MAX_HEAD_BYTES = 64 * 1024;

export interface HttpAnswer {
  status: number;
  /** Lower-cased names; repeated fields joined with ", ". */
  headers: ReadonlyMap<string, string>;
  body: Buffer;
  /** The connection may carry another request (see the module header). */
  reusable: boolean;
}

interface Head {
  status: number;
  headers: Map<string, string>;
  keepAlive: boolean;
}

type BodyState =
  | { kind: 'length'; remaining: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; remaining: number }
  | { kind: 'trailers' }
  | { kind: 'until-close' };

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

export class HttpAnswerParser {
  private pending: Buffer = Buffer.alloc(0);
  private head: Head | undefined;
  private body: BodyState | undefined;
  private readonly chunks: Buffer[] = [];

  /** `expectsNoBody`: the request was HEAD, whose answer has no body whatever its headers say. */
  constructor(private readonly expectsNoBody = false) {}

  /** More bytes of the connection; the answer once it is complete, else undefined. Throws on what it cannot read. */
  feed(chunk: Buffer): HttpAnswer | undefined {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.head === undefined) {
        if (!this.readHead()) return undefined;
        continue;
      }
      const answer = this.readBody();
      return answer === 'more' ? undefined : answer;
    }
  }

  /** The connection closed: the answer when its body ran until the close, else an error saying what was cut off. */
  closed(): HttpAnswer {
    if (this.head !== undefined && this.body?.kind === 'until-close') return this.finish(false);
    throw new Error(this.head === undefined && this.pending.length === 0 ? 'socket hang up' : 'connection closed before the answer was complete');
  }

  /** Reads a header block if it is all here; skips interim answers. False when more bytes are needed. */
  private readHead(): boolean {
    const end = this.pending.indexOf(HEAD_END);
    if (end < 0) {
      if (this.pending.length > MAX_HEAD_BYTES) throw new Error(`answer header block over ${MAX_HEAD_BYTES} bytes`);
      return false;
    }
    if (end > MAX_HEAD_BYTES) throw new Error(`answer header block over ${MAX_HEAD_BYTES} bytes`);
    const head = parseHead(this.pending.toString('latin1', 0, end));
    this.pending = this.pending.subarray(end + HEAD_END.length);
    if (head.status >= 100 && head.status < 200 && head.status !== 101) return true;
    this.head = head;
    this.body = bodyStateFor(head, this.expectsNoBody);
    return true;
  }

  /** Advances through the body; the answer when it is complete. */
  private readBody(): HttpAnswer | 'more' {
    for (;;) {
      const state = this.body;
      if (state === undefined) return this.finish(true);
      switch (state.kind) {
        case 'until-close':
          if (this.pending.length > 0) {
            this.chunks.push(this.pending);
            this.pending = Buffer.alloc(0);
          }
          return 'more';
        case 'length':
        case 'chunk-data': {
          const take = Math.min(state.remaining, this.pending.length);
          if (take > 0) {
            this.chunks.push(this.pending.subarray(0, take));
            this.pending = this.pending.subarray(take);
            state.remaining -= take;
          }
          if (state.remaining > 0) return 'more';
          if (state.kind === 'length') {
            this.body = undefined;
            break;
          }
          if (this.pending.length < CRLF.length) return 'more';
          if (!this.pending.subarray(0, CRLF.length).equals(CRLF)) throw new Error('chunk data not followed by CRLF');
          this.pending = this.pending.subarray(CRLF.length);
          this.body = { kind: 'chunk-size' };
          break;
        }
        case 'chunk-size': {
          const line = this.takeLine();
          if (line === undefined) return 'more';
          const sizeText = (line.split(';')[0] ?? '').trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
          const size = parseInt(sizeText, 16);
          this.body = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining: size };
          break;
        }
        case 'trailers': {
          const line = this.takeLine();
          if (line === undefined) return 'more';
          if (line === '') this.body = undefined;
          break;
        }
      }
    }
  }

  /** One CRLF-terminated line from the pending bytes, or undefined when it has not all arrived. */
  private takeLine(): string | undefined {
    const end = this.pending.indexOf(CRLF);
    if (end < 0) {
      if (this.pending.length > MAX_HEAD_BYTES) throw new Error(`chunk line over ${MAX_HEAD_BYTES} bytes`);
      return undefined;
    }
    const line = this.pending.toString('latin1', 0, end);
    this.pending = this.pending.subarray(end + CRLF.length);
    return line;
  }

  private finish(delimited: boolean): HttpAnswer {
    const head = this.head as Head;
    // Bytes after a complete answer were never asked for: such a connection is not trusted with another request.
    const reusable = delimited && head.keepAlive && this.pending.length === 0;
    return { status: head.status, headers: head.headers, body: this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks), reusable };
  }
}

function parseHead(text: string): Head {
  const lines = text.split('\r\n');
  const statusLine = lines[0] ?? '';
  const match = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusLine);
  if (match === null) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 40))}`);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i += 1) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`header line without a name: ${JSON.stringify(line.slice(0, 40))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  const connection = (headers.get('connection') ?? '').toLowerCase();
  const keepAlive = match[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  return { status: Number(match[2]), headers, keepAlive };
}

function bodyStateFor(head: Head, expectsNoBody: boolean): BodyState | undefined {
  if (expectsNoBody || head.status === 204 || head.status === 304) return undefined;
  if (/\bchunked\b/i.test(head.headers.get('transfer-encoding') ?? '')) return { kind: 'chunk-size' };
  const length = head.headers.get('content-length');
  if (length !== undefined) {
    if (!/^\d{1,15}$/.test(length)) throw new Error(`bad Content-Length ${JSON.stringify(length.slice(0, 20))}`);
    const remaining = Number(length);
    return remaining === 0 ? undefined : { kind: 'length', remaining };
  }
  return { kind: 'until-close' };
}
