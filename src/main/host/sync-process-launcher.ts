/**
 * How the app host starts its main sync process (src/main/sync-process): a Node child process here, an Electron
 * utility process in the app (src/main/electron). The host only needs the PID, the exit and a way to kill it;
 * everything else it reads from the shared store.
 *
 * Runtime: node.
 */
import type { ProcessEntries } from './process-entries';

export interface SyncProcessArgs {
  dataDir: string;
  strategy: string;
  env?: Record<string, string>;
}

export interface LaunchedProcess {
  pid: number;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface SyncProcessLauncher {
  launch(args: SyncProcessArgs): LaunchedProcess;
}

/**
 * V8 options of the main sync process, on every path that starts it (this launcher, the Electron utility
 * process, the race harness and the bench). `--max-semi-space-size=8` caps the young generation at two 8 MiB
 * semi-spaces. Left alone, V8 doubles them whenever as many bytes have survived scavenges since the last
 * growth as the young generation holds, a count that only grows while a drain goes on, so a process that
 * drains for minutes ends at V8's maximum, two 16 MiB semi-spaces: 24 MiB more resident memory than after
 * its first 10,000 messages, for a process that keeps a few megabytes live (`todevice bench --soak`: main's
 * RSS 91 MiB after 10,000 messages, 130 MiB from 80,000 on, the young generation 8 → 32 MiB). A scavenge
 * costs what survives it, not the space's size, so the smaller cap costs more frequent, not longer, pauses
 * (the soak's drain rate and latency did not move beyond their noise). 8 MiB is what V8 itself uses on devices
 * with little memory. `--optimize-for-size` makes V8 treat the process as memory-constrained, as it treats a
 * background tab or a low-memory device: full collections compact and the old generation's next limit is set
 * closer to what survived. Without it the old space filled with 20 to 25 MiB of garbage between full
 * collections, so the resident size depended on when the last one ran (soak of 200,000 messages: main's RSS
 * climbed to 125 MiB and ended at 113; with it, flat at 93 to 98 MiB, and the drain rate no lower).
 */
export const SYNC_PROCESS_V8_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--optimize-for-size'];

export function syncProcessArgv(args: SyncProcessArgs): string[] {
  return ['--data', args.dataDir, '--strategy', args.strategy];
}

/** Starts the main sync process as a Node child process from `entries` (bundled, or through tsx). */
export function nodeSyncProcessLauncher(entries: ProcessEntries): SyncProcessLauncher {
  return {
    launch: (args) => {
      const started = entries.start('main-sync', syncProcessArgv(args), args.env ?? {});
      return { pid: started.pid, exited: started.exited, kill: (signal = 'SIGKILL') => void started.child.kill(signal) };
    },
  };
}
