/**
 * Entry of the notifier process (a Node child process, or an Electron utility process in the app). Wires only:
 * parse arguments, run once, report, exit with the run's code.
 */
import { parentPickleKeySource, processParentPort } from '../crypto/pickle-key-handoff';
import { StoreOpenError } from '../store/store-errors';
import { parseNotifierOptions } from './notifier-options';
import { flushReports, sendReport } from './notifier-reports';
import { runNotifier } from './notifier-run';

// Listening for a handed-over pickle key from the first moment: the app posts it right after starting us.
const pickleKeyAt = process.argv.indexOf('--pickle-key');
const handedKey = pickleKeyAt >= 0 && process.argv[pickleKeyAt + 1] === 'parent' ? parentPickleKeySource(processParentPort()) : undefined;

async function main(): Promise<number> {
  try {
    const options = parseNotifierOptions(process.argv.slice(2));
    return await runNotifier(options, sendReport, options.pickleKey === 'parent' ? handedKey : undefined);
  } catch (error) {
    // A store that cannot be opened is a state to report in its own one line; anything else is a bug, with its stack.
    const text = error instanceof StoreOpenError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    sendReport({ kind: 'failed', pid: process.pid, error: text });
    return 1;
  }
}

void main().then(async (code) => {
  await flushReports();
  process.exitCode = code;
  // An open IPC channel would keep the process alive; a notifier's lifetime is bounded.
  if (process.connected) process.disconnect();
});
