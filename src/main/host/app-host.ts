/**
 * The app's host, shared by the Electron main process and browser mode: the embedded homeserver (or a given
 * one), the demo world, the main sync process, push handling with a notifier per push, and the UI backend the
 * dashboard talks to through either transport.
 *
 * Runtime: node (no Electron: launchers are injected). The main sync runs in a process of its own so the
 * dashboard can kill and restart it while the UI stays up; the host itself holds nothing that must survive a
 * crash, since every delivery fact lives in the shared store or on the homeserver.
 *
 * The dashboard can empty the data directory and start over (`data:reset`). Everything that has the directory's
 * files open (the main sync process, the notifiers, the store, the embedded homeserver) belongs to one
 * "session" of the host; a reset closes that session, deletes the files (src/main/host/data-dir-reset.ts) and
 * opens a new session on the empty directory. `backend` stays the same object throughout, forwarding to the
 * current session and moving snapshot subscribers over to the new one, so a transport (the IPC handlers, the
 * HTTP bridge and its open event streams) never notices. While a session is being replaced, calls are answered
 * with a `resetting` error instead of reaching a closed store.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Strategy } from '../../engine/engine-types';
import { DEFAULT_STRATEGY } from '../../engine/engine-types';
import { AdminClient } from '../../homeserver/admin-client';
import { startHomeserver, type RunningHomeserver } from '../../homeserver/homeserver';
import { CLIENT_DB_FILE, HOMESERVER_DB_FILE } from '../../shared/data-layout';
import { UI_CHANNELS, type DashboardSnapshot, type NotificationView, type UiBackend, type UiChannel, type UiResult } from '../../shared/ui-api';
import { openStore } from '../../store/open-store';
import { writeRetentionPolicy, type RetentionOptions } from '../../store/retention-policy';
import { DEFAULT_AMBIENT_TRAFFIC } from './ambient-traffic';
import { createAppBackend } from './app-backend';
import { markDataDirInUse, resetDataDir } from './data-dir-reset';
import { setUpDemoWorld } from './demo-setup';
import type { RaceRunner } from './race-control';
import type { NotifierLauncher } from './notifier-launcher';
import { startPushDispatch } from './push-dispatch';
import type { SyncProcessLauncher } from './sync-process-launcher';

export interface AppHostOptions {
  dataDir: string;
  /** A homeserver to use instead of starting the embedded one (no fault injection or server-side counters then). */
  homeserverUrl?: string;
  /**
   * The admin token of the `homeserverUrl` server when it is a `todevice serve` (the Playwright kit's): the
   * dashboard then has its fault injection and server-side counters as with the embedded one.
   */
  homeserverAdminToken?: string;
  strategy?: Strategy;
  /** How much history the store keeps (defaults: src/store/retention-policy.ts); stored for every process. */
  retention?: RetentionOptions;
  /** How notifiers and the main sync process start: Node child processes (`process-entries.ts`) or Electron utility processes. */
  launcher: NotifierLauncher;
  syncLauncher: SyncProcessLauncher;
  onNotification?: (notification: NotificationView) => void;
  /** Extra environment for every notifier, e.g. a kill point (`TODEVICE_KILL_AT`) for an e2e test. */
  notifierEnv?: Record<string, string>;
  /** Lets the dashboard start race-harness runs (browser mode passes one built on src/harness). */
  raceRunner?: RaceRunner;
  /** Send background demo traffic so the dashboard shows traffic with no set-up (`npm start`); default off. */
  ambientTraffic?: boolean;
  log?: (line: string) => void;
}

export interface AppHost {
  backend: UiBackend;
  /** The current homeserver's URL (the embedded one moves to a new port after a reset). */
  readonly homeserverUrl: string;
  close(): Promise<void>;
}

/** Everything that has the data directory's files open. */
interface Session {
  backend: UiBackend;
  homeserverUrl: string;
  close(): Promise<void>;
}

export async function startAppHost(options: AppHostOptions): Promise<AppHost> {
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const log = options.log ?? (() => {});
  const releaseDataDir = markDataDirInUse(options.dataDir, process.pid);
  const listeners = new Map<(snapshot: DashboardSnapshot) => void, () => void>();
  let session: Session | undefined;
  let resetting = false;

  const reset = async (): Promise<UiResult<{ dataDir: string; removed: string[] }>> => {
    if (resetting || session === undefined) return { ok: false, error: { kind: 'resetting', message: 'a reset is already in progress' } };
    resetting = true;
    try {
      log(`reset: closing everything on ${options.dataDir}`);
      for (const unsubscribe of listeners.values()) unsubscribe();
      await session.close();
      session = undefined;
      const emptied = resetDataDir(options.dataDir, { ownPid: process.pid });
      markDataDirInUse(options.dataDir, process.pid);
      session = await startSession(options, log, reset);
      for (const listener of listeners.keys()) listeners.set(listener, session.backend.subscribe(listener));
      if (!emptied.ok) return { ok: false, error: emptied.error };
      log(`reset: removed ${emptied.value.removed.join(', ') || 'nothing'}; started again on an empty directory`);
      return { ok: true, value: { dataDir: options.dataDir, removed: emptied.value.removed } };
    } finally {
      resetting = false;
    }
  };

  try {
    session = await startSession(options, log, reset);
  } catch (error) {
    releaseDataDir();
    throw error;
  }

  const forward = (channel: UiChannel) => async (args: object): Promise<UiResult<unknown>> => {
    const current = session;
    if (resetting || current === undefined) return { ok: false, error: { kind: 'resetting', message: 'the data directory is being reset; try again in a moment' } };
    return (current.backend[channel] as (args: object) => Promise<UiResult<unknown>>)(args);
  };
  const backend = Object.fromEntries(UI_CHANNELS.map((channel) => [channel, forward(channel)])) as unknown as UiBackend;
  backend.subscribe = (listener) => {
    listeners.set(listener, session?.backend.subscribe(listener) ?? (() => {}));
    return () => {
      listeners.get(listener)?.();
      listeners.delete(listener);
    };
  };

  return {
    backend,
    get homeserverUrl() {
      return session?.homeserverUrl ?? '';
    },
    close: async () => {
      for (const unsubscribe of listeners.values()) unsubscribe();
      listeners.clear();
      await session?.close();
      session = undefined;
      releaseDataDir();
    },
  };
}

async function startSession(
  options: AppHostOptions,
  log: (line: string) => void,
  resetDataDir: () => Promise<UiResult<{ dataDir: string; removed: string[] }>>,
): Promise<Session> {
  let homeserver: RunningHomeserver | undefined;
  if (options.homeserverUrl === undefined) {
    homeserver = await startHomeserver({ dbPath: path.join(options.dataDir, HOMESERVER_DB_FILE), port: 0, log: (line) => log(`homeserver: ${line}`) });
  }
  const homeserverUrl = options.homeserverUrl ?? homeserver?.url ?? '';
  const store = openStore(path.join(options.dataDir, CLIENT_DB_FILE));
  try {
    // Before the main sync process and any notifier start, so every process applies the same policy.
    writeRetentionPolicy(store, options.retention ?? {});
    const world = await setUpDemoWorld(store, homeserverUrl, homeserver === undefined ? 'url' : 'embedded');
    const strategy = options.strategy ?? DEFAULT_STRATEGY;
    // Push dispatch and backend need each other: reports go to the backend, which is built on the dispatch.
    const relay: { toBackend?: Parameters<typeof startPushDispatch>[0]['onNotifierMessage'] } = {};
    const push = await startPushDispatch({
      account: world.desktop,
      dataDir: options.dataDir,
      strategy,
      launcher: options.launcher,
      ...(options.notifierEnv === undefined ? {} : { notifierEnv: options.notifierEnv }),
      onNotifierMessage: (run, message) => relay.toBackend?.(run, message),
      log,
    });
    const backend = createAppBackend({
      store,
      world,
      push,
      strategy,
      dataDir: options.dataDir,
      homeserverUrl,
      admin: adminFor(homeserver, options),
      syncLauncher: options.syncLauncher,
      ...(options.onNotification === undefined ? {} : { onNotification: options.onNotification }),
      ...(options.ambientTraffic ? { ambientTraffic: DEFAULT_AMBIENT_TRAFFIC } : {}),
      ...(options.raceRunner === undefined ? {} : { raceRunner: options.raceRunner }),
      // A real homeserver keeps its record of the device whatever we delete here, so only the embedded one resets.
      ...(homeserver === undefined ? {} : { resetDataDir }),
      log,
    });
    relay.toBackend = backend.onNotifierMessage;
    await backend.startMainSync();
    return {
      backend: backend.api,
      homeserverUrl,
      close: async () => {
        await backend.close();
        await push.close();
        store.close();
        await homeserver?.close();
      },
    };
  } catch (error) {
    store.close();
    await homeserver?.close();
    throw error;
  }
}

function adminFor(embedded: RunningHomeserver | undefined, options: AppHostOptions): AdminClient | null {
  if (embedded !== undefined) return new AdminClient(embedded.url, embedded.adminToken);
  if (options.homeserverUrl !== undefined && options.homeserverAdminToken !== undefined) return new AdminClient(options.homeserverUrl, options.homeserverAdminToken);
  return null;
}
