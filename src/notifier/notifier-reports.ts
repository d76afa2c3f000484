/**
 * Sends `NotifierMessage` reports to whichever parent started this process: Electron's `parentPort` in a
 * utility process, Node's IPC channel in a forked child, or stdout as JSON lines when run by hand.
 *
 * Runtime: node / electron-utility (no Electron import: `process.parentPort` is a property Electron adds).
 * `flushReports` waits until Node's IPC channel has taken every report, so the entry can disconnect and exit
 * without cutting the last one off.
 */
import type { NotifierMessage } from '../shared/notifier-messages';

interface ParentPort {
  postMessage(message: unknown): void;
}

const pending = new Set<Promise<void>>();

export function sendReport(message: NotifierMessage): void {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (parentPort) {
    parentPort.postMessage(message);
  } else if (process.send && process.connected) {
    const sent = new Promise<void>((resolve) => process.send?.(message, undefined, {}, () => resolve()));
    pending.add(sent);
    void sent.then(() => pending.delete(sent));
  } else {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  }
}

export async function flushReports(): Promise<void> {
  await Promise.all([...pending]);
}
