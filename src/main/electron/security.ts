/**
 * Locks the Electron app down to its own page: no navigation away, no new windows, no webviews, no permission
 * grants, no network request to anywhere but the dev server, and the Content Security Policy also as a header.
 *
 * Runtime: electron-main. The dashboard shows data from a homeserver, which is untrusted input; if anything
 * ever slipped past the renderer's text-only DOM writes, these rules keep it from loading or reaching anything.
 * Notifications are shown by the main process, so the page needs no permission at all.
 */
import type { App, Session } from 'electron';

const contentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Applies to every web contents the app ever creates, so it must run before the first window. */
export function blockForeignNavigation(app: App, isAppUrl: (url: string) => boolean): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

export function lockDownSession(session: Session, devServerUrl: string | undefined): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  const devOrigin = devServerUrl ? new URL(devServerUrl).origin : undefined;
  session.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (details, callback) => {
    const allowed = devOrigin !== undefined && sameOriginOrWebSocket(details.url, devOrigin);
    callback({ cancel: !allowed });
  });
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy] } });
  });
}

/** The dev server's hot-reload socket shares its host but uses ws:, which is allowed too. */
function sameOriginOrWebSocket(url: string, devOrigin: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.origin === devOrigin || parsed.host === new URL(devOrigin).host;
  } catch {
    return false;
  }
}
