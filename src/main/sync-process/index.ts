/**
 * Entry of the app's main sync process: the long-lived sync loop and the `main` consumer, in a process of its
 * own so the dashboard can SIGKILL and restart it while the UI stays up (a Node child process in browser mode,
 * an Electron utility process in the app). Wires only.
 *
 * Arguments: `--data DIR --strategy NAME [--pickle-key file|parent]`. The account comes from the store, written
 * by the host; the device's Olm state is opened (libolm, the pickle key, the account) before the loop starts, and
 * a state it cannot open stops it with one line. Meanwhile the `main` consumer already handles the rows other
 * processes committed while this one was down (`consumeWhileStarting`: they need no Olm), and it starts before the
 * sync loop's modules are even loaded: only the store's are imported statically. The pickle key is the
 * `pickle-key` file beside the store, or, with `--pickle-key parent` (the desktop app), the key the app posts on
 * `parentPort` (src/crypto/pickle-key-handoff.ts).
 */
import path from 'node:path';
import { isStrategy } from '../../engine/engine-types';
import { createProcessKillPoints } from '../../engine/kill-points';
import { CLIENT_DB_FILE } from '../../shared/data-layout';
import { readAccount } from '../../store/account';
import { parentPickleKeySource, processParentPort } from '../../crypto/pickle-key-handoff';
import { consumeWhileStarting, MAIN_CONSUMER } from '../host/main-consumer';
import { openMainStore } from '../host/main-store';

function optionalArgument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function argument(name: string): string {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  if (value === undefined) throw new Error(`sync process: --${name} is required`);
  return value;
}

const pickleKeyFrom = optionalArgument('pickle-key') ?? 'file';
if (pickleKeyFrom !== 'file' && pickleKeyFrom !== 'parent') throw new Error(`sync process: --pickle-key must be file or parent, got "${pickleKeyFrom}"`);
// Listening from the first moment: the app posts the key right after starting us.
const pickleKeySource = pickleKeyFrom === 'parent' ? parentPickleKeySource(processParentPort()) : undefined;
const strategy = argument('strategy');
if (!isStrategy(strategy)) throw new Error(`sync process: unknown strategy "${strategy}"`);
const store = openMainStore(path.join(argument('data'), CLIENT_DB_FILE), { create: false });
const account = readAccount(store);
if (account === undefined) throw new Error('sync process: no account in the store; the host writes it before starting us');
// Rows other processes committed while we were down are handled now, before the rest of this process has loaded:
// the static imports above reach only the store (main-consumer.ts says why); the sync loop and the Olm device are
// imported here, their files read while the first consume pass runs.
const rest = Promise.all([import('../../device/olm-device'), import('../host/main-sync'), import('../../engine/describe-failure')]);
const killPoints = createProcessKillPoints(MAIN_CONSUMER);
const starting = consumeWhileStarting({ store, strategy, killPoints });
const [{ openOlmDevice }, { startMainSync }, { describeSyncFailure }] = await rest;
const device = await openOlmDevice({ store, account, strategy, processName: MAIN_CONSUMER, ...(pickleKeySource === undefined ? {} : { pickleKeySource }) });
if (!device.ok) {
  starting.stop();
  process.stderr.write(`sync process: ${device.error}\n`);
  store.close();
  process.exit(1);
}
starting.stop();
const sync = startMainSync({ store, account, strategy, olm: device.value, killPoints });
const stop = (): void => {
  void sync.stop().then(() => {
    store.close();
    process.exit(0);
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
void sync.done.then((result) => {
  if (result.kind === 'failed') {
    process.stderr.write(`sync process: the sync loop stopped: ${describeSyncFailure(result.error, { homeserverUrl: account.homeserverUrl })}\n`);
    process.exit(1);
  }
});
