/**
 * Chooses how the dashboard reaches the host: the preload's `window.todevice` inside Electron, else the HTTP +
 * Server-Sent Events bridge of the page's own origin (browser mode). Both carry the one `UiClient` API.
 *
 * Runtime: browser. The preload object is the only thing Electron exposes to this page (context isolation);
 * its presence, not a user-agent sniff, decides the transport.
 *
 * In browser mode the bridge wants the launch's secret, which arrives in the fragment of the URL todevice printed
 * (`#token=…`, src/main/host/ui-http-bridge.ts). It is moved at once into this tab's `sessionStorage` (so a reload
 * keeps working; the storage belongs to this origin and tab only) and taken out of the address bar, so it is not
 * left on screen, in the history entry or in a bookmark.
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

/** Mirrors `LAUNCH_TOKEN_KEY` of the bridge (the renderer may import only src/shared). */
const launchTokenKey = 'token';
const storageKey = 'todevice.bridge-token';

export function chooseTransport(onConnection: (state: ConnectionState) => void): Transport {
  if (window.todevice) {
    // IPC to the main process cannot drop while the window exists.
    onConnection('live');
    return { client: window.todevice, name: 'electron ipc' };
  }
  return { client: createHttpUiClient(window.location.origin, takeLaunchToken(), onConnection), name: 'http + sse' };
}

/** The secret from the URL's fragment (then removed from it), else the one this tab kept; null when neither. */
function takeLaunchToken(): string | null {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const fromUrl = fragment.get(launchTokenKey);
  if (fromUrl !== null && fromUrl !== '') {
    window.sessionStorage.setItem(storageKey, fromUrl);
    fragment.delete(launchTokenKey);
    const rest = fragment.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${rest === '' ? '' : `#${rest}`}`);
    return fromUrl;
  }
  return window.sessionStorage.getItem(storageKey);
}
