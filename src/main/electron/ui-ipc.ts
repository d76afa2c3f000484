/**
 * The Electron transport of the UI API, main side: one `ipcMain.handle` per channel of `UI_CHANNELS` and no
 * other, forwarding to the backend and returning its `UiResult`; and the snapshot push to the window.
 *
 * Runtime: electron-main. Every call is checked before it reaches the backend: the sender must be the main
 * frame of the app's own page (a navigated-away or embedded frame gets a `forbidden-sender` error) and the
 * arguments must be an object. Errors are returned as values, never thrown, so the renderer sees one shape.
 */
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent } from 'electron';
import { SNAPSHOT_CHANGED, UI_CHANNELS, type UiBackend } from '../../shared/ui-api';
import { invokeUiChannel, isArgsObject, uiFailure } from '../host/ui-invoke';

/** Registers the handlers; returns the function that removes them. */
export function registerUiIpc(ipcMain: IpcMain, backend: UiBackend, isAppUrl: (url: string) => boolean): () => void {
  for (const channel of UI_CHANNELS) {
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, args: unknown) => {
      if (!isTrustedSender(event, isAppUrl)) {
        return uiFailure('forbidden-sender', `${channel} may be called only by the app's own page`);
      }
      if (!isArgsObject(args)) return uiFailure('bad-args', `${channel} takes an object of arguments`);
      return invokeUiChannel(backend, channel, args);
    });
  }
  return () => {
    for (const channel of UI_CHANNELS) ipcMain.removeHandler(channel);
  };
}

function isTrustedSender(event: IpcMainInvokeEvent, isAppUrl: (url: string) => boolean): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isAppUrl(frame.url);
}

/** Sends every snapshot the backend publishes to the window; returns the unsubscribe function. */
export function pushSnapshots(backend: UiBackend, window: BrowserWindow): () => void {
  return backend.subscribe((snapshot) => {
    if (!window.isDestroyed()) window.webContents.send(SNAPSHOT_CHANGED, snapshot);
  });
}
