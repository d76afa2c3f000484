/**
 * How the main process starts a notifier, behind one interface: a Node child process here (plain Node host,
 * `todevice headless`, tests), an Electron utility process in the app (src/main/electron).
 *
 * Runtime: node. The notifier's correctness never depends on this channel: it finds its credentials, token and
 * lease in the shared store, so a launcher only passes the push's IDs and relays reports.
 */
import { fileURLToPath } from 'node:url';
import { forkTypeScript } from './fork-typescript';
import { isNotifierMessage, type NotifierMessage } from '../../shared/notifier-messages';

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

const notifierEntry = fileURLToPath(new URL('../../notifier/index.ts', import.meta.url));

/** Starts the notifier's TypeScript entry under plain Node through tsx, with an IPC channel for reports. */
export const nodeNotifierLauncher: NotifierLauncher = {
  launch(args) {
    const forked = forkTypeScript(notifierEntry, notifierArgv(args), args.env);
    return {
      pid: forked.pid,
      onMessage: (listener) =>
        forked.child.on('message', (message) => {
          if (isNotifierMessage(message)) listener(message);
        }),
      exited: forked.exited,
      kill: forked.kill,
    };
  },
};
