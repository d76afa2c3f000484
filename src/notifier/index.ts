/**
 * Entry of the notifier process (a Node child process, or an Electron utility process in the app). Wires only:
 * parse arguments, run once, report, exit with the run's code.
 */
import { StoreOpenError } from '../store/store-errors';
import { parseNotifierOptions } from './notifier-options';
import { flushReports, sendReport } from './notifier-reports';
import { runNotifier } from './notifier-run';

async function main(): Promise<number> {
  try {
    return await runNotifier(parseNotifierOptions(process.argv.slice(2)), sendReport);
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
