/**
 * Supervises the main sync process (src/main/sync-process, the app's own entry) the way an OS and a user would:
 * starts it, restarts it after it dies, SIGKILLs it, stalls it with SIGSTOP, and arms kill points.
 *
 * Runtime: node. Guarantees the report can rely on:
 * - a kill is counted when the process is seen to exit by SIGKILL, attributed to the kill point it was armed
 *   with (`kill-main-point`) or to our own signal (`kill-main-random`);
 * - a kill point the process never reaches (say `after-lease-acquired` under a strategy without a lease) is
 *   replaced by a SIGKILL after `pointDeadlineMs`, recorded as `kill-main-random` with the missed point named;
 * - restarts are bounded (`maxRestarts`), so a process that dies at once forever cannot loop the harness;
 * - every spawn, exit seen, SIGSTOP and SIGCONT is told to `availability` as it happens (main-availability.ts).
 */
import type { KillPointName } from '../engine/kill-points';
import type { Strategy } from '../shared/strategies';
import type { FaultLog } from './fault-log';
import type { MainAvailability } from './main-availability';
import type { ProcessEntries, StartedProcess } from '../main/host/process-entries';

const pointDeadlineMs = 2500;
const stopTimeoutMs = 12_000;
const maxRestarts = 2000;
const stderrTailLines = 20;

interface Incarnation {
  process: StartedProcess;
  armed: { point: KillPointName; nth: number } | undefined;
  /** Set when we sent SIGKILL ourselves, with the reason. */
  killedBy: string | undefined;
  stopped: boolean;
}

export class MainSupervisor {
  private current: Incarnation | undefined;
  private restarts = 0;
  private stopping = false;
  /** Set by `settle()`: no more kills, stalls or kill points (the liveness phase). */
  private disarmed = false;
  private arming = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private nextRestartDelayMs = 100;
  readonly stderrTail: string[] = [];
  failedExits = 0;

  constructor(
    private readonly entries: ProcessEntries,
    private readonly dataDir: string,
    private readonly strategy: Strategy,
    private readonly faults: FaultLog,
    private readonly availability?: MainAvailability,
  ) {}

  get pid(): number | undefined {
    return this.current?.process.pid;
  }

  get restartCount(): number {
    return this.restarts;
  }

  start(armed?: { point: KillPointName; nth: number }): void {
    if (this.current !== undefined) throw new Error('MainSupervisor.start: already running');
    const env: Record<string, string> = armed === undefined ? {} : { TODEVICE_KILL_AT: `${armed.point}:${armed.nth}`, TODEVICE_KILL_PROCESS: 'main' };
    const started = this.entries.start('main-sync', ['--data', this.dataDir, '--strategy', this.strategy], env);
    const incarnation: Incarnation = { process: started, armed, killedBy: undefined, stopped: false };
    this.current = incarnation;
    this.availability?.mainStarted(started.pid);
    started.child.stderr?.on('data', (chunk: Buffer) => this.keepStderr(chunk.toString()));
    void started.exited.then((exit) => this.onExit(incarnation, exit));
  }

  /** SIGKILLs main now; it is restarted after `restartDelayMs`. Returns false when main was not running. */
  killNow(restartDelayMs: number, reason = 'random'): boolean {
    const current = this.current;
    if (current === undefined || this.disarmed) return false;
    this.nextRestartDelayMs = restartDelayMs;
    current.killedBy = reason;
    current.process.child.kill('SIGKILL');
    return true;
  }

  /**
   * Restarts main (a clean SIGTERM stop) armed with a kill point, so it kills itself at the nth hit; it is
   * restarted unarmed `restartDelayMs` after that death.
   */
  async killAtPoint(point: KillPointName, nth: number, restartDelayMs: number): Promise<void> {
    // One arming at a time: a second one while the first waits for the clean stop would start two mains.
    if (this.disarmed || this.arming) return;
    this.arming = true;
    try {
      this.cancelRestart();
      await this.stopCurrent();
    } finally {
      this.arming = false;
    }
    if (this.stopping || this.disarmed || this.current !== undefined) return;
    this.nextRestartDelayMs = restartDelayMs;
    this.start({ point, nth });
    const armed = this.current;
    setTimeout(() => {
      if (this.current === armed && armed !== undefined && !this.stopping && !this.disarmed) this.killNow(restartDelayMs, `missed ${point}:${nth}`);
    }, pointDeadlineMs).unref();
  }

  /** SIGSTOPs main for `stallMs`, then SIGCONTs the same process if it is still the current one. */
  stall(stallMs: number): boolean {
    const current = this.current;
    if (current === undefined || current.stopped || this.disarmed) return false;
    current.stopped = true;
    current.process.child.kill('SIGSTOP');
    this.availability?.mainStopped();
    setTimeout(() => this.resume(current), stallMs).unref();
    return true;
  }

  /**
   * Liveness phase: no more faults, no stalled process, no armed kill point (an armed main is restarted
   * cleanly without one), and main running. Safe to call repeatedly.
   */
  async settle(): Promise<void> {
    this.disarmed = true;
    if (this.current !== undefined) this.resume(this.current);
    if (this.current?.armed !== undefined) await this.stopCurrent();
    if (this.current === undefined && !this.stopping) {
      this.cancelRestart();
      this.start();
    }
  }

  get running(): boolean {
    return this.current !== undefined && !this.current.stopped;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelRestart();
    await this.stopCurrent();
  }

  private resume(incarnation: Incarnation): void {
    if (!incarnation.stopped) return;
    incarnation.stopped = false;
    incarnation.process.child.kill('SIGCONT');
    if (incarnation === this.current) this.availability?.mainContinued();
  }

  private async stopCurrent(): Promise<void> {
    const current = this.current;
    if (current === undefined) return;
    this.resume(current);
    current.killedBy = current.killedBy ?? 'stop';
    current.process.child.kill('SIGTERM');
    const timer = setTimeout(() => current.process.child.kill('SIGKILL'), stopTimeoutMs);
    await current.process.exited;
    clearTimeout(timer);
  }

  private onExit(incarnation: Incarnation, exit: { code: number | null; signal: string | null }): void {
    if (this.current === incarnation) {
      this.current = undefined;
      this.availability?.mainExited();
    }
    this.record(incarnation, exit);
    if (this.stopping || incarnation.killedBy === 'stop' || this.restarts >= maxRestarts) return;
    this.restarts += 1;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping && this.current === undefined) this.start();
    }, this.nextRestartDelayMs);
    this.nextRestartDelayMs = 100;
  }

  private record(incarnation: Incarnation, exit: { code: number | null; signal: string | null }): void {
    if (exit.signal === 'SIGKILL') {
      if (incarnation.killedBy === undefined && incarnation.armed !== undefined) {
        this.faults.record('kill-main-point', `${incarnation.armed.point}:${incarnation.armed.nth}`);
      } else if (incarnation.killedBy !== 'stop') {
        this.faults.record('kill-main-random', incarnation.killedBy);
      }
    } else if (incarnation.killedBy !== 'stop') {
      // Exit 1 after the engine's bounded retries (e.g. the write lock held past the busy timeout): restarted.
      this.failedExits += 1;
    }
  }

  private cancelRestart(): void {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private keepStderr(text: string): void {
    for (const line of text.split('\n')) if (line.trim() !== '') this.stderrTail.push(line);
    this.stderrTail.splice(0, Math.max(0, this.stderrTail.length - stderrTailLines));
  }
}
