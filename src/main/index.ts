/**
 * Entry of the Electron app's main process: wires the hardened window, the typed IPC, the utility-process
 * launchers (notifier, main sync), the pickle key sealed by the OS secret store, and OS notifications to the same host the plain Node mode runs (src/main/host/app-host.ts).
 *
 * Runtime: electron-main. One instance only: a second launch focuses the first window, because two hosts would
 * start two main sync processes on one data directory. Startup failures print one line on stderr
 * (which `todevice start` shows) and quit with code 1; a modal dialog would hang an unattended test run.
 */
import { app, ipcMain, safeStorage, session } from 'electron';
import { describePickleKeyError } from '../crypto/pickle-key';
import { sealedPickleKeySource } from '../crypto/sealed-pickle-key';
import { startAppHost } from './host/app-host';
import { appPaths, appUrlMatcher } from './electron/app-paths';
import { readAppOptions } from './electron/app-options';
import { createMainWindow } from './electron/main-window';
import { electronSealer } from './electron/os-secret-sealer';
import { showOsNotification } from './electron/os-notification';
import { blockForeignNavigation, lockDownSession } from './electron/security';
import { checkSqliteForElectron } from './electron/sqlite-binding';
import { pushSnapshots, registerUiIpc } from './electron/ui-ipc';
import { utilityNotifierLauncher } from './electron/utility-notifier-launcher';
import { utilitySyncProcessLauncher } from './electron/utility-sync-process-launcher';

const paths = appPaths();
const isAppUrl = appUrlMatcher(paths);

if (!app.requestSingleInstanceLock()) app.quit();
else {
  blockForeignNavigation(app, isAppUrl);
  app.whenReady().then(run, fail);
}

async function run(): Promise<void> {
  lockDownSession(session.defaultSession, paths.devServerUrl);
  const sqlite = checkSqliteForElectron();
  if (!sqlite.ok) return fail(new Error(sqlite.error));
  const options = readAppOptions(process.env, app.getPath('userData'));
  // The device's pickle key, sealed by the OS secret store; only this process can unseal it, and it hands it to
  // the main sync process and every notifier over their message ports.
  const keySource = sealedPickleKeySource(options.dataDir, electronSealer(safeStorage));
  const pickleKey = await keySource.load();
  if (!pickleKey.ok) return fail(new Error(describePickleKeyError(pickleKey.error)));
  process.stderr.write(`todevice: ${keySource.note()}\n`);
  const host = await startAppHost({
    dataDir: options.dataDir,
    ...(options.homeserverUrl ? { homeserverUrl: options.homeserverUrl } : {}),
    ...(options.strategy ? { strategy: options.strategy } : {}),
    ...(options.retention ? { retention: options.retention } : {}),
    launcher: utilityNotifierLauncher(paths.notifierEntryFile, pickleKey.value),
    syncLauncher: utilitySyncProcessLauncher(paths.syncProcessEntryFile, pickleKey.value),
    onNotification: showOsNotification,
    ambientTraffic: true,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const unregisterIpc = registerUiIpc(ipcMain, host.backend, isAppUrl);
  const window = createMainWindow(paths);
  const stopPush = pushSnapshots(host.backend, window);
  app.on('second-instance', () => {
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => app.quit());
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    // Quit waits for the host to stop its sync loop and notifiers, so the store is closed cleanly.
    event.preventDefault();
    closed = true;
    stopPush();
    unregisterIpc();
    host.close().finally(() => app.quit());
  });
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`todevice: ${message}\n`);
  app.exit(1);
}
