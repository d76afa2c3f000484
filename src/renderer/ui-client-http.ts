/**
 * The browser-mode transport of the UI API: calls are `POST /api/call/:channel` with the arguments as JSON and
 * the `UiResult` as the response body; snapshots arrive over Server-Sent Events (`GET /api/events`).
 *
 * Runtime: browser. A failed request (the host is gone, a proxy answered HTML) becomes a `UiResult` error of
 * kind `transport`, so views handle one error shape. EventSource reconnects by itself after the host restarts;
 * the connection listener reports that, and the first snapshot of the new stream brings the view up to date.
 */
import {
  SNAPSHOT_CHANGED,
  type DashboardSnapshot,
  type UiChannel,
  type UiChannels,
  type UiClient,
  type UiResult,
} from '../shared/ui-api';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export function createHttpUiClient(baseUrl: string, onConnection: (state: ConnectionState) => void): UiClient {
  const listeners = new Set<(snapshot: DashboardSnapshot) => void>();
  let source: EventSource | undefined;

  const openStream = (): EventSource => {
    const stream = new EventSource(`${baseUrl}/api/events`);
    stream.addEventListener('open', () => onConnection('live'));
    stream.addEventListener('error', () => onConnection('reconnecting'));
    stream.addEventListener(SNAPSHOT_CHANGED, (event) => {
      const snapshot = JSON.parse((event as MessageEvent<string>).data) as DashboardSnapshot;
      for (const listener of listeners) listener(snapshot);
    });
    return stream;
  };

  return {
    call: <C extends UiChannel>(channel: C, args: UiChannels[C]['args']) => postCall<C>(baseUrl, channel, args),
    onSnapshot(listener) {
      listeners.add(listener);
      source ??= openStream();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          source?.close();
          source = undefined;
        }
      };
    },
  };
}

async function postCall<C extends UiChannel>(
  baseUrl: string,
  channel: C,
  args: UiChannels[C]['args'],
): Promise<UiResult<UiChannels[C]['result']>> {
  try {
    const response = await fetch(`${baseUrl}/api/call/${encodeURIComponent(channel)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
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
