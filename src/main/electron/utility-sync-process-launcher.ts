/**
 * Starts the main sync process as an Electron utility process (the built `out/main/sync-process.js`), the
 * Electron counterpart of `nodeSyncProcessLauncher`, so the dashboard can SIGKILL and restart it while the
 * window stays up.
 *
 * Runtime: electron-main.
 */
import { syncProcessArgv, type LaunchedProcess, type SyncProcessLauncher } from '../host/sync-process-launcher';
import { forkUtility } from './fork-utility';

export function utilitySyncProcessLauncher(syncEntryFile: string): SyncProcessLauncher {
  return {
    launch(args): LaunchedProcess {
      const forked = forkUtility(syncEntryFile, syncProcessArgv(args), args.env, 'todevice main sync');
      return {
        get pid() {
          return forked.pid;
        },
        exited: forked.exited,
        kill: (signal) => forked.kill(signal),
      };
    },
  };
}
