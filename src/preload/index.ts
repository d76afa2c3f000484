/**
 * The preload of the dashboard window: exposes exactly one object, `window.todevice`, implementing `UiClient`
 * (src/shared/ui-api.ts), and nothing else of Electron.
 *
 * Runtime: electron-preload, sandboxed, bundled into one CommonJS file (a sandboxed preload can require only
 * `electron`'s renderer modules). Guarantees:
 * - `call` sends only the channels of `UI_CHANNELS`; any other name is answered with a `UiResult` error here and
 *   never reaches `ipcRenderer`, so the page cannot invoke a handler the app did not mean to expose (the main
 *   process validates the channel and the sender again).
 * - Snapshot listeners get the snapshot only, never the IPC event (which would hand the page `ipcRenderer`
 *   through `event.sender`).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  SNAPSHOT_CHANGED,
  UI_CHANNELS,
  type DashboardSnapshot,
  type UiChannel,
  type UiChannels,
  type UiClient,
  type UiResult,
} from '../shared/ui-api';

const api: UiClient = {
  async call<C extends UiChannel>(channel: C, args: UiChannels[C]['args']): Promise<UiResult<UiChannels[C]['result']>> {
    if (!UI_CHANNELS.includes(channel)) {
      return { ok: false, error: { kind: 'unknown-channel', message: `unknown channel "${String(channel)}"` } };
    }
    try {
      return (await ipcRenderer.invoke(channel, args)) as UiResult<UiChannels[C]['result']>;
    } catch (error) {
      // invoke() rejects only when the main process has no handler or the arguments cannot be cloned.
      return { ok: false, error: { kind: 'transport', message: error instanceof Error ? error.message : String(error) } };
    }
  },
  onSnapshot(listener: (snapshot: DashboardSnapshot) => void): () => void {
    const forward = (_event: IpcRendererEvent, snapshot: DashboardSnapshot): void => listener(snapshot);
    ipcRenderer.on(SNAPSHOT_CHANGED, forward);
    return () => {
      ipcRenderer.removeListener(SNAPSHOT_CHANGED, forward);
    };
  },
};

contextBridge.exposeInMainWorld('todevice', api);
