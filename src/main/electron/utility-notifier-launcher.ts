/**
 * Starts notifier runs as Electron utility processes (the built `out/main/notifier.js`), the Electron
 * counterpart of `nodeNotifierLauncher`.
 *
 * Runtime: electron-main. The notifier's reports arrive over its `parentPort` and are relayed only when they are
 * `NotifierMessage`s: the child is ours, but a report is no reason to trust a shape. The notifier finds
 * everything else (credentials, token, lease) in the shared store, so the arguments carry only the push's IDs;
 * the pickle key, which only this process can unseal, is posted to it as its first message.
 */
import type { PickleKey } from '../../crypto/pickle-key';
import { pickleKeyMessage } from '../../crypto/pickle-key-handoff';
import { isNotifierMessage, type NotifierMessage } from '../../shared/notifier-messages';
import { NOTIFIER_V8_FLAGS, notifierArgv, type LaunchedNotifier, type NotifierLauncher } from '../host/notifier-launcher';
import { forkUtility } from './fork-utility';

export function utilityNotifierLauncher(notifierEntryFile: string, pickleKey: PickleKey): NotifierLauncher {
  return {
    launch(args): LaunchedNotifier {
      const forked = forkUtility(notifierEntryFile, [...notifierArgv(args), '--pickle-key', 'parent'], args.env, 'todevice notifier', NOTIFIER_V8_FLAGS);
      // The key goes over the process's own message port, never through its arguments or environment.
      forked.child.postMessage(pickleKeyMessage(pickleKey));
      const listeners: Array<(message: NotifierMessage) => void> = [];
      forked.child.on('message', (message: unknown) => {
        if (!isNotifierMessage(message)) return;
        for (const listener of listeners) listener(message);
      });
      return {
        get pid() {
          return forked.pid;
        },
        onMessage: (listener) => listeners.push(listener),
        exited: forked.exited,
        kill: (signal) => forked.kill(signal),
      };
    },
  };
}
