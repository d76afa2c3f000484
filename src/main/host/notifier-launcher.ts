/**
 * How the main process starts a notifier, behind one interface: a Node child process here (plain Node host,
 * `todevice headless`, tests), an Electron utility process in the app (src/main/electron).
 *
 * Runtime: node. The notifier's correctness never depends on this channel: it finds its credentials, token and
 * lease in the shared store, so a launcher only passes the push's IDs and relays reports.
 */
import { isNotifierMessage, type NotifierMessage } from '../../shared/notifier-messages';
import type { ProcessEntries } from './process-entries';

export interface NotifierArgs {
  dataDir: string;
  eventId: string;
  roomId: string;
  strategy: string;
  /** Extra environment, e.g. `TODEVICE_KILL_AT` for the harness. */
  env?: Record<string, string>;
}

export interface LaunchedNotifier {
  pid: number;
  onMessage(listener: (message: NotifierMessage) => void): void;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface NotifierLauncher {
  launch(args: NotifierArgs): LaunchedNotifier;
}

/** Command-line form shared by both launchers, parsed by src/notifier/notifier-options.ts. */
export function notifierArgv(args: NotifierArgs): string[] {
  return ['--data', args.dataDir, '--event-id', args.eventId, '--room-id', args.roomId, '--strategy', args.strategy];
}

/**
 * V8 options of every notifier, on every path that starts one (this launcher, the Electron utility process, the
 * race harness and the bench). `--no-concurrent-recompilation`: V8 optimizes a hot function on the thread that
 * runs it instead of on a background compile thread. A notifier does one push's work in a fraction of a second,
 * so few of its functions get hot, and the background compiler's memory is what a phone's notification extension
 * has least of. Measured with `todevice bench --case 3` in alternated runs: a notifier for an encrypted push
 * peaked at 62.2 and 61.7 MiB with it and 64.8 and 64.5 MiB without, push to data p50 166 and 158 ms with it and
 * 151 and 167 ms without. `--single-threaded` (no V8 background threads at all) saved a little more, 61.4 MiB,
 * but cost the handoff: p50 206 to 239 ms against 166 to 196 ms without it. Much of what the background compiler
 * had been doing was Node's scan of olm.js for its export names; since the bundled processes `require` it
 * (src/main/host/process-entries.ts), alternated runs show the same peak with the flag and without (60.4 to
 * 60.5 MiB). It is kept for runs that compile more than these (a notifier with a backlog to drain), which were
 * not measured with and without it.
 */
export const NOTIFIER_V8_FLAGS: readonly string[] = ['--no-concurrent-recompilation'];

/** Starts each notifier as a Node child process from `entries` (bundled, or through tsx), with an IPC channel for reports. */
export function nodeNotifierLauncher(entries: ProcessEntries): NotifierLauncher {
  return {
    launch(args) {
      const started = entries.start('notifier', notifierArgv(args), args.env ?? {});
      return {
        pid: started.pid,
        onMessage: (listener) =>
          started.child.on('message', (message) => {
            if (isNotifierMessage(message)) listener(message);
          }),
        exited: started.exited,
        kill: (signal = 'SIGKILL') => void started.child.kill(signal),
      };
    },
  };
}
