/**
 * How the app host starts its main sync process (src/main/sync-process): a Node child process here, an Electron
 * utility process in the app (src/main/electron). The host only needs the PID, the exit and a way to kill it;
 * everything else it reads from the shared store.
 *
 * Runtime: node.
 */
import { fileURLToPath } from 'node:url';
import { forkTypeScript } from './fork-typescript';

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

export function syncProcessArgv(args: SyncProcessArgs): string[] {
  return ['--data', args.dataDir, '--strategy', args.strategy];
}

const syncProcessEntry = fileURLToPath(new URL('../sync-process/index.ts', import.meta.url));

export const nodeSyncProcessLauncher: SyncProcessLauncher = {
  launch: (args) => forkTypeScript(syncProcessEntry, syncProcessArgv(args), args.env),
};
