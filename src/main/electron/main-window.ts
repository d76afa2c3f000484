/**
 * The dashboard window: sandboxed, context-isolated, no Node integration, the narrow preload only.
 *
 * Runtime: electron-main. The window is shown once its first paint is ready so it does not flash white.
 */
import { BrowserWindow } from 'electron';
import type { AppPaths } from './app-paths';

export function createMainWindow(paths: AppPaths): BrowserWindow {
  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    show: false,
    backgroundColor: '#0d1117',
    title: 'todevice',
    autoHideMenuBar: true,
    webPreferences: {
      preload: paths.preloadFile,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  if (paths.devServerUrl) void window.loadURL(paths.devServerUrl);
  else void window.loadFile(paths.rendererIndexFile);
  return window;
}
