/**
 * The main process without a UI (`todevice headless`): account, main sync loop, `main` consumer, push gateway
 * and one notifier child process per push, all on one data directory.
 *
 * Runtime: node. Restarted on the same data directory after a SIGKILL at any moment, it resumes from the stored
 * token and cursor: the store is the only state that matters, and it is crash-safe (src/store/commit-batch.ts,
 * src/store/consume.ts). What lives in memory here (the notifier list) is for display only.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EngineEvent, Strategy } from '../../engine/engine-types';
import { CLIENT_DB_FILE } from '../../shared/data-layout';
import type { NotifierMessage } from '../../shared/notifier-messages';
import { saveAccount, type Account } from '../../store/account';
import type { ClientStore } from '../../store/open-store';
import { writeRetentionPolicy, type RetentionOptions } from '../../store/retention-policy';
import { ensureAccount, readStoredOwner, type AccountRequest } from './account-setup';
import { openOlmDevice } from '../../device/olm-device';
import { MAIN_CONSUMER, startMainSync, type MainSync } from './main-sync';
import { openMainStore } from './main-store';
import type { NotifierLauncher } from './notifier-launcher';
import { startPushDispatch, type NotifierRun, type PushDispatch } from './push-dispatch';

export interface HeadlessHostOptions extends AccountRequest {
  dataDir: string;
  strategy: Strategy;
  launcher: NotifierLauncher;
  synchronous?: 'FULL' | 'NORMAL';
  /** How much history the store keeps (defaults: src/store/retention-policy.ts); stored for every process. */
  retention?: RetentionOptions;
  notifierEnv?: Record<string, string>;
  onEngineEvent?: (event: EngineEvent) => void;
  onNotifierMessage?: (run: NotifierRun, message: NotifierMessage) => void;
  onNotifierExit?: (run: NotifierRun) => void;
  log?: (line: string) => void;
}

export interface HeadlessHost {
  account: Account;
  store: ClientStore;
  sync: MainSync;
  push: PushDispatch;
  close(): Promise<void>;
}

export class HostStartError extends Error {
  override name = 'HostStartError';
}

export async function startHeadlessHost(options: HeadlessHostOptions): Promise<HeadlessHost> {
  const dbPath = path.join(options.dataDir, CLIENT_DB_FILE);
  const storeOptions = options.synchronous === undefined ? {} : { synchronous: options.synchronous };
  // An existing store is opened (and so checked) first; a new one is created only after the login succeeded,
  // so a failed first start leaves no trace in --data.
  let store: ClientStore | undefined = fs.existsSync(dbPath) ? openMainStore(dbPath, { ...storeOptions, create: false }) : undefined;
  try {
    const account = await ensureAccount(store === undefined ? undefined : readStoredOwner(store), options, options.dataDir);
    if (!account.ok) {
      const message = account.error.kind === 'not-this-store' ? account.error.message : `cannot log in to ${options.homeserverUrl} as ${options.user}: ${account.error.message}`;
      throw new HostStartError(message);
    }
    if (store === undefined) {
      fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      store = openMainStore(dbPath, storeOptions);
    }
    saveAccount(store, account.value);
    // Before any notifier or the sync loop runs, so every process applies the same policy.
    writeRetentionPolicy(store, options.retention ?? {});
    const opened = store;
    // The device's Olm state before anything runs: a pickle key that does not open it stops the start here.
    const device = await openOlmDevice({ store: opened, account: account.value, strategy: options.strategy, processName: MAIN_CONSUMER });
    if (!device.ok) throw new HostStartError(device.error);
    const push = await startPushDispatch({
      account: account.value,
      dataDir: options.dataDir,
      strategy: options.strategy,
      launcher: options.launcher,
      ...(options.notifierEnv && { notifierEnv: options.notifierEnv }),
      ...(options.onNotifierMessage && { onNotifierMessage: options.onNotifierMessage }),
      ...(options.onNotifierExit && { onNotifierExit: options.onNotifierExit }),
      ...(options.log && { log: options.log }),
    });
    const sync = startMainSync({
      store: opened,
      account: account.value,
      strategy: options.strategy,
      olm: device.value,
      ...(options.onEngineEvent && { onEvent: options.onEngineEvent }),
      ...(options.log && { log: options.log }),
    });
    return {
      account: account.value,
      store: opened,
      sync,
      push,
      close: async () => {
        await sync.stop();
        await push.close();
        opened.close();
      },
    };
  } catch (error) {
    store?.close();
    throw error;
  }
}
