/**
 * Chooses how the dashboard reaches the host: the preload's `window.todevice` inside Electron, else the HTTP +
 * Server-Sent Events bridge of the page's own origin (browser mode). Both carry the one `UiClient` API.
 *
 * Runtime: browser. The preload object is the only thing Electron exposes to this page (context isolation);
 * its presence, not a user-agent sniff, decides the transport.
 */
import type { UiClient } from '../shared/ui-api';
import { createHttpUiClient, type ConnectionState } from './ui-client-http';

declare global {
  interface Window {
    /** Set by src/preload in Electron; absent in a browser. */
    todevice?: UiClient;
  }
}

export interface Transport {
  client: UiClient;
  name: 'electron ipc' | 'http + sse';
}

export function chooseTransport(onConnection: (state: ConnectionState) => void): Transport {
  if (window.todevice) {
    // IPC to the main process cannot drop while the window exists.
    onConnection('live');
    return { client: window.todevice, name: 'electron ipc' };
  }
  return { client: createHttpUiClient(window.location.origin, onConnection), name: 'http + sse' };
}
