/**
 * A pass-through HTTP proxy on 127.0.0.1 that records every request a client makes and how the homeserver
 * answered it (method, path without the query, status, errcode), so a test can check what a real client asked
 * for and that each request got a homeserver's answer. Bodies pass unchanged; nothing is logged (requests carry
 * access tokens).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  errcode: string | undefined;
}

export interface RecordingProxy {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startRecordingProxy(targetUrl: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const upstream = httpRequest(targetUrl + (req.url ?? '/'), { method: req.method, headers: req.headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          requests.push({ method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] ?? '/', status: answer.statusCode ?? 0, errcode: errcodeOf(text) });
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(parts));
        });
      });
      // A client that aborts its long poll, or a server closing, ends the exchange; the proxy just lets go.
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `METHOD /path` with user and room IDs, event IDs and transaction IDs replaced, for comparing traces. */
export function traceLine(request: RecordedRequest): string {
  const path = decodeURIComponent(request.path)
    .replace(/@[^/:]+:[^/]+/g, '{userId}')
    .replace(/![^/:]+:[^/]+/g, '{roomId}')
    .replace(/\$[^/]+/g, '{eventId}')
    .replace(/\/send\/([^/]+)\/[^/]+$/, '/send/$1/{txnId}')
    .replace(/\/filter\/\d+$/, '/filter/{filterId}');
  return `${request.method} ${path}`;
}

function errcodeOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { errcode?: unknown };
    return typeof body.errcode === 'string' ? body.errcode : undefined;
  } catch {
    return undefined;
  }
}
