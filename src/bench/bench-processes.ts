/**
 * Real OS processes for the handoff, contention and memory cases: the app's own main sync process entry
 * (src/main/sync-process) and notifier entry (src/notifier), started exactly as the race harness starts them
 * (bundled once with esbuild, then `node bundle.mjs`, see src/main/host/process-entries.ts), each with the data
 * directory whose store the bench prepared (account saved as the host saves it).
 *
 * Runtime: node (Linux for resident memory: it reads /proc/<pid>/status).
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { prepareEntries, type ProcessEntries, type StartedProcess } from '../main/host/process-entries';
import { realSleep } from '../engine/timing';
import { CLIENT_DB_FILE } from '../shared/data-layout';
import { isNotifierMessage, type NotifierMessage } from '../shared/notifier-messages';
import { saveAccount, type Account } from '../store/account';
import { openStore, type ClientStore } from '../store/open-store';
import { nowMs } from './stats';

export interface NotifierRun {
  /** From the spawn (the push) to the notification report: the notifier holds its to-device data by then. */
  pushToNotificationMs: number;
  notification: Extract<NotifierMessage, { kind: 'notification' }>;
  /** Peak resident memory, read while the process was still alive. */
  peakRssKb: number;
}

export interface BenchProcesses {
  /** Creates `dir` with a client store holding `account`; returns the store (the caller's own connection). */
  prepareDataDir(dir: string, account: Account): ClientStore;
  startMain(dir: string): StartedProcess;
  stopMain(main: StartedProcess): Promise<void>;
  runNotifier(dir: string, push: { eventId: string; roomId: string }): Promise<NotifierRun>;
  /** Runs the handoff floor (handoff-floor/index.ts) on `dir`'s store; milliseconds from spawn to its report. */
  runHandoffFloor(dir: string, homeserverUrl: string): Promise<number>;
  dispose(): void;
}

/** `VmHWM` (peak resident set) of a live process in KiB, or NaN where /proc is not available. */
export function peakRssKb(pid: number): number {
  return procStatusKb(pid, 'VmHWM');
}

/** `VmRSS` (resident set now) of a live process in KiB, or NaN where /proc is not available. */
export function residentRssKb(pid: number): number {
  return procStatusKb(pid, 'VmRSS');
}

function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] === undefined ? Number.NaN : Number(match[1]);
  } catch {
    return Number.NaN;
  }
}

/**
 * Peak RSS of a bare Node process (an empty ES module, started with `fork` like the entries, no V8 options): the
 * baseline of every notifier memory figure.
 */
export async function bareNodePeakRssKb(dir: string): Promise<number> {
  const script = path.join(dir, 'bare.mjs');
  fs.writeFileSync(script, 'process.on("message", () => process.exit(0)); process.send("ready");\n');
  const child = fork(script, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  await realSleep(200);
  const kb = peakRssKb(child.pid ?? -1);
  child.send('exit');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return kb;
}

export async function prepareBenchProcesses(): Promise<BenchProcesses> {
  const entries: ProcessEntries = await prepareEntries();
  return {
    prepareDataDir(dir, account) {
      fs.mkdirSync(dir, { recursive: true });
      const store = openStore(path.join(dir, CLIENT_DB_FILE));
      saveAccount(store, account);
      return store;
    },
    startMain(dir) {
      return entries.start('main-sync', ['--data', dir, '--strategy', 'explicit-lease'], {});
    },
    async stopMain(main) {
      main.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 10_000)));
      const exited = await Promise.race([main.exited, bound]);
      clearTimeout(timer);
      if (exited === undefined) {
        main.child.kill('SIGKILL');
        await main.exited;
      }
    },
    runNotifier(dir, push) {
      const argv = ['--data', dir, '--event-id', push.eventId, '--room-id', push.roomId, '--strategy', 'explicit-lease', '--lease-wait-ms', '10000'];
      const startedMs = nowMs();
      const started = entries.start('notifier', argv, {});
      return new Promise<NotifierRun>((resolve, reject) => {
        let stderr = '';
        started.child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
        started.child.on('message', (message: unknown) => {
          if (!isNotifierMessage(message)) return;
          if (message.kind === 'notification') {
            resolve({ pushToNotificationMs: nowMs() - startedMs, notification: message, peakRssKb: peakRssKb(started.pid) });
          }
          if (message.kind === 'failed') reject(new Error(`bench: notifier failed: ${message.error}`));
        });
        void started.exited.then(({ code }) => reject(new Error(`bench: notifier exited (${String(code)}) without a notification: ${stderr}`)));
      }).finally(() => started.exited);
    },
    runHandoffFloor(dir, homeserverUrl) {
      const startedMs = nowMs();
      const started = entries.start('handoff-floor', ['--store', path.join(dir, CLIENT_DB_FILE), '--url', homeserverUrl], {});
      return new Promise<number>((resolve, reject) => {
        let stderr = '';
        started.child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
        started.child.on('message', (message: unknown) => {
          const kind = (message as { kind?: unknown } | null)?.kind;
          if (kind === 'floor-done') resolve(nowMs() - startedMs);
          if (kind === 'failed') reject(new Error(`bench: the handoff floor failed: ${JSON.stringify(message)}`));
        });
        void started.exited.then(({ code }) => reject(new Error(`bench: the handoff floor exited (${String(code)}) without reporting: ${stderr}`)));
      }).finally(() => started.exited);
    },
    dispose() {
      entries.dispose();
    },
  };
}
