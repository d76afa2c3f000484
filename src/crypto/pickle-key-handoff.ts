/**
 * Handing the pickle key from the desktop app's main process to the processes it starts. In the app only the
 * Electron main process can open the sealed key (sealed-pickle-key.ts); the main sync process and every notifier
 * are utility processes, started with `--pickle-key parent`, and receive the key as the first message on their
 * `parentPort`. The key never appears in an argument list or an environment variable, which other processes of
 * the same user can read (`/proc/<pid>/cmdline`, `/proc/<pid>/environ`).
 *
 * Runtime: electron-main (`pickleKeyMessage`) and electron-utility (`parentPickleKeySource`); no Electron import.
 * A process waiting for the key gives up after `timeoutMs` with one line, so a launcher that forgot to send it
 * cannot leave a process hanging.
 */
import { err, ok } from '../shared/result';
import { PICKLE_KEY_BYTES, PickleKey, type PickleKeySource } from './pickle-key';

const MESSAGE_KIND = 'todevice.pickle-key';
export const DEFAULT_HANDOFF_TIMEOUT_MS = 10_000;

/** What Electron's `process.parentPort` offers a utility process. */
export interface ParentPortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  off?(event: 'message', listener: (event: { data: unknown }) => void): unknown;
}

/** The message the app's main process posts to a utility process right after starting it. */
export function pickleKeyMessage(key: PickleKey): { kind: string; key: string } {
  return { kind: MESSAGE_KIND, key: key.toBuffer().toString('base64') };
}

/** The key the parent posts; `load` waits for it at most `timeoutMs`. */
export function parentPickleKeySource(port: ParentPortLike | undefined, timeoutMs = DEFAULT_HANDOFF_TIMEOUT_MS): PickleKeySource {
  let received: Promise<PickleKey | 'timeout'> | undefined;
  if (port !== undefined) {
    // Listening from the start: the message may arrive before anything asks for the key.
    received = new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref?.();
      const listener = (event: { data: unknown }): void => {
        const data = event.data as { kind?: unknown; key?: unknown } | null;
        if (data?.kind !== MESSAGE_KIND || typeof data.key !== 'string') return;
        const bytes = Buffer.from(data.key, 'base64');
        if (bytes.length !== PICKLE_KEY_BYTES) return;
        clearTimeout(timer);
        port.off?.('message', listener);
        resolve(new PickleKey(bytes));
        bytes.fill(0);
      };
      port.on('message', listener);
    });
  }
  const where = 'from the app';
  return {
    load: async () => {
      if (received === undefined) return err({ kind: 'pickle-key-io', path: where, message: 'this process was not started by the app (no parentPort), so no key can be handed to it' });
      const key = await received;
      if (key === 'timeout') return err({ kind: 'pickle-key-io', path: where, message: `it did not arrive within ${timeoutMs} ms` });
      return ok(key);
    },
  };
}

/** Electron's `process.parentPort` in a utility process; undefined elsewhere. */
export function processParentPort(): ParentPortLike | undefined {
  return (process as unknown as { parentPort?: ParentPortLike }).parentPort;
}
