/**
 * The browser-mode transport of the UI API: calls are `POST /api/call/:channel` with the arguments as JSON and
 * the `UiResult` as the response body; snapshots arrive as Server-Sent Events (`GET /api/events`). Both carry
 * the launch's secret as `Authorization: Bearer <token>` (src/main/host/ui-http-bridge.ts says why).
 *
 * Runtime: browser. The event stream is read with `fetch`, not `EventSource`, because `EventSource` cannot send
 * a header, and putting the secret in its URL would write it into every request line. Reading the stream this
 * way means reconnecting is ours to do: after the host restarts or the connection drops, the stream is opened
 * again after `reconnectDelayMs`, and the first snapshot of the new stream brings the view up to date. A 401
 * means the page has no valid secret; retrying cannot fix that, so it stops and says so (`unauthorized`).
 * A failed call (the host is gone, a proxy answered HTML) becomes a `UiResult` error of kind `transport`, so
 * views handle one error shape.
 */
import {
  SNAPSHOT_CHANGED,
  type DashboardSnapshot,
  type UiChannel,
  type UiChannels,
  type UiClient,
  type UiResult,
} from '../shared/ui-api';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

const reconnectDelayMs = 1000;

export function createHttpUiClient(baseUrl: string, token: string | null, onConnection: (state: ConnectionState) => void): UiClient {
  const listeners = new Set<(snapshot: DashboardSnapshot) => void>();
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  let stream: AbortController | undefined;

  const deliver = (snapshot: DashboardSnapshot): void => {
    for (const listener of listeners) listener(snapshot);
  };

  const openStream = (): AbortController => {
    const controller = new AbortController();
    const loop = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        const outcome = await readEventStream(`${baseUrl}/api/events`, headers, controller.signal, deliver, () => onConnection('live'));
        if (controller.signal.aborted) return;
        if (outcome === 'unauthorized') {
          onConnection('unauthorized');
          return;
        }
        onConnection('reconnecting');
        await new Promise((resolve) => setTimeout(resolve, reconnectDelayMs));
      }
    };
    void loop();
    return controller;
  };

  return {
    call: <C extends UiChannel>(channel: C, args: UiChannels[C]['args']) => postCall<C>(baseUrl, headers, channel, args),
    onSnapshot(listener) {
      listeners.add(listener);
      stream ??= openStream();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          stream?.abort();
          stream = undefined;
        }
      };
    },
  };
}

/** Reads one event stream until it ends; says why it ended. */
async function readEventStream(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  onSnapshot: (snapshot: DashboardSnapshot) => void,
  onOpen: () => void,
): Promise<'ended' | 'unauthorized'> {
  try {
    const response = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal, cache: 'no-store' });
    if (response.status === 401) return 'unauthorized';
    if (!response.ok || response.body === null) return 'ended';
    onOpen();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'ended';
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const snapshot = snapshotOf(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (snapshot !== undefined) onSnapshot(snapshot);
      }
    }
  } catch {
    // A dropped connection or an abort: the caller decides whether to open the stream again.
    return 'ended';
  }
}

/** The snapshot in one Server-Sent Events frame (`event: snapshot:changed` + `data: …`), if it holds one. */
function snapshotOf(frame: string): DashboardSnapshot | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (event !== SNAPSHOT_CHANGED || data.length === 0) return undefined;
  return JSON.parse(data.join('\n')) as DashboardSnapshot;
}

async function postCall<C extends UiChannel>(
  baseUrl: string,
  headers: Record<string, string>,
  channel: C,
  args: UiChannels[C]['args'],
): Promise<UiResult<UiChannels[C]['result']>> {
  try {
    const response = await fetch(`${baseUrl}/api/call/${encodeURIComponent(channel)}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(args),
    });
    const body: unknown = await response.json();
    if (isUiResult(body)) return body as UiResult<UiChannels[C]['result']>;
    return transportError(`${channel}: the host answered ${response.status} without a result`);
  } catch (error) {
    return transportError(`${channel}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function isUiResult(value: unknown): value is UiResult<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

function transportError(message: string): { ok: false; error: { kind: string; message: string } } {
  return { ok: false, error: { kind: 'transport', message } };
}
