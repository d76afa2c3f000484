/**
 * The main process's push gateway: receives the homeserver's Push Gateway API calls
 * (`POST /_matrix/push/v1/notify`) and hands each notification to `onPush`, which starts a notifier.
 *
 * Runtime: node (no Electron). Listens on 127.0.0.1 only. It answers the homeserver at once and never waits for
 * the notifier, like a phone's push service; the notifier's own work is what must be race-free, not this hop.
 * A malformed body gets a 400 with a Matrix error and starts nothing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PushNotifyRequest } from '../../shared/wire';

export type PushNotification = PushNotifyRequest['notification'];

export interface PushGateway {
  /** URL to register as the pusher's `data.url`. */
  notifyUrl: string;
  close(): Promise<void>;
}

export const PUSH_NOTIFY_PATH = '/_matrix/push/v1/notify';
const maxBodyBytes = 64 * 1024;

export async function startPushGateway(onPush: (notification: PushNotification) => void): Promise<PushGateway> {
  const server = http.createServer((request, response) => {
    const reply = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (request.method !== 'POST' || request.url !== PUSH_NOTIFY_PATH) {
      reply(404, { errcode: 'M_UNRECOGNIZED', error: 'unrecognized request' });
      return;
    }
    readBody(request, maxBodyBytes).then(
      (text) => {
        const notification = parseNotification(text);
        if (!notification) {
          reply(400, { errcode: 'M_BAD_JSON', error: 'expected {notification: {event_id, room_id, ...}}' });
          return;
        }
        reply(200, { rejected: [] });
        onPush(notification);
      },
      () => reply(413, { errcode: 'M_TOO_LARGE', error: `body over ${maxBodyBytes} bytes` }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    notifyUrl: `http://127.0.0.1:${port}${PUSH_NOTIFY_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readBody(request: http.IncomingMessage, limitBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        reject(new Error('too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Returns the notification when `text` is a Push Gateway body with string event and room IDs, else undefined. */
export function parseNotification(text: string): PushNotification | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const notification = (value as { notification?: unknown } | null)?.notification as Record<string, unknown> | undefined;
  if (typeof notification !== 'object' || notification === null) return undefined;
  if (typeof notification.event_id !== 'string' || typeof notification.room_id !== 'string') return undefined;
  return notification as unknown as PushNotification;
}
