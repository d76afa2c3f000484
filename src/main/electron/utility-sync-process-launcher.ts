/**
 * Starts the main sync process as an Electron utility process (the built `out/main/sync-process.js`), the
 * Electron counterpart of `nodeSyncProcessLauncher`, so the dashboard can SIGKILL and restart it while the
 * window stays up. The pickle key, which only this process can unseal, is posted to it as its first message.
 *
 * Runtime: electron-main.
 */
import type { PickleKey } from '../../crypto/pickle-key';
import { pickleKeyMessage } from '../../crypto/pickle-key-handoff';
import { SYNC_PROCESS_V8_FLAGS, syncProcessArgv, type LaunchedProcess, type SyncProcessLauncher } from '../host/sync-process-launcher';
import { forkUtility } from './fork-utility';

export function utilitySyncProcessLauncher(syncEntryFile: string, pickleKey: PickleKey): SyncProcessLauncher {
  return {
    launch(args): LaunchedProcess {
      const forked = forkUtility(syncEntryFile, [...syncProcessArgv(args), '--pickle-key', 'parent'], args.env, 'todevice main sync', SYNC_PROCESS_V8_FLAGS);
      // The key goes over the process's own message port, never through its arguments or environment.
      forked.child.postMessage(pickleKeyMessage(pickleKey));
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
