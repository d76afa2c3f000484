/**
 * The harness's notifier launcher: starts the app's notifier entry for each push, exactly as the main
 * process's push dispatch asks (same `NotifierLauncher` interface, same arguments), and applies the schedule's
 * fault for that launch: a kill point in the environment, or a SIGKILL after a delay.
 *
 * Runtime: node. The nth launch gets the schedule's nth notifier fault, whatever time it happens at. A kill is
 * recorded only when the process is seen to exit by SIGKILL; a kill point the notifier never reaches (a
 * strategy without a lease never hits `after-lease-acquired`) is not a kill and is not counted as one.
 */
import { isNotifierMessage, type NotifierMessage } from '../shared/notifier-messages';
import type { LaunchedNotifier, NotifierArgs, NotifierLauncher } from '../main/host/notifier-launcher';
import { notifierArgv } from '../main/host/notifier-launcher';
import type { FaultLog } from './fault-log';
import type { NotifierFault } from './fault-schedule';
import type { ProcessEntries } from '../main/host/process-entries';

export interface NotifierStats {
  launched: number;
  finished: number;
  killed: number;
  /** Exited with an error report or a non-zero code (e.g. SQLITE_BUSY past the busy timeout). */
  failed: number;
  /** Notifications shown without their to-device payload. */
  dataMissing: number;
  failures: string[];
}

export class FaultyNotifierLauncher implements NotifierLauncher {
  private launches = 0;
  private readonly live = new Set<Promise<unknown>>();
  faultsEnabled = true;
  readonly stats: NotifierStats = { launched: 0, finished: 0, killed: 0, failed: 0, dataMissing: 0, failures: [] };

  constructor(
    private readonly entries: ProcessEntries,
    private readonly schedule: readonly NotifierFault[],
    private readonly faults: FaultLog,
  ) {}

  get running(): number {
    return this.live.size;
  }

  /** Resolves when every notifier started so far has exited (each is bounded by its lease wait). */
  async idle(): Promise<void> {
    await Promise.all([...this.live]);
  }

  launch(args: NotifierArgs): LaunchedNotifier {
    const fault: NotifierFault = this.faultsEnabled ? (this.schedule[this.launches] ?? { kind: 'none' }) : { kind: 'none' };
    this.launches += 1;
    const env: Record<string, string> = { ...args.env };
    if (fault.kind === 'kill-point') Object.assign(env, { TODEVICE_KILL_AT: fault.point, TODEVICE_KILL_PROCESS: 'notifier' });
    const started = this.entries.start('notifier', notifierArgv(args), env);
    this.stats.launched += 1;
    let killedByUs = false;
    if (fault.kind === 'kill-random') {
      setTimeout(() => {
        // The liveness phase runs without faults: a kill still pending when it starts is dropped.
        if (!this.faultsEnabled || started.child.exitCode !== null || started.child.signalCode !== null) return;
        killedByUs = true;
        started.child.kill('SIGKILL');
      }, fault.afterMs).unref();
    }
    const listeners: Array<(message: NotifierMessage) => void> = [];
    started.child.on('message', (message) => {
      if (!isNotifierMessage(message)) return;
      this.observe(message);
      for (const listener of listeners) listener(message);
    });
    let stderr = '';
    started.child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const exited = started.exited.then((exit) => {
      this.onExit(exit, fault, killedByUs, stderr);
      return exit;
    });
    const tracked = exited.finally(() => this.live.delete(tracked));
    this.live.add(tracked);
    return { pid: started.pid, onMessage: (listener) => listeners.push(listener), exited, kill: (signal) => started.child.kill(signal ?? 'SIGKILL') };
  }

  private observe(message: NotifierMessage): void {
    if (message.kind === 'finished') this.stats.finished += 1;
    if (message.kind === 'notification' && message.dataMissing) this.stats.dataMissing += 1;
    if (message.kind === 'failed') this.note(`notifier ${message.pid}: ${message.error.split('\n')[0] ?? ''}`);
  }

  private onExit(exit: { code: number | null; signal: string | null }, fault: NotifierFault, killedByUs: boolean, stderr: string): void {
    if (exit.signal === 'SIGKILL') {
      this.stats.killed += 1;
      if (fault.kind === 'kill-point' && !killedByUs) this.faults.record('kill-notifier-point', fault.point);
      else this.faults.record('kill-notifier-random', fault.kind === 'kill-random' ? `after ${fault.afterMs} ms` : undefined);
    } else if (exit.code !== 0) {
      this.stats.failed += 1;
      this.note(`notifier exit ${exit.code ?? exit.signal}: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
    }
  }

  private note(line: string): void {
    if (this.stats.failures.length < 20) this.stats.failures.push(line);
  }
}
