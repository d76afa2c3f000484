/**
 * Plays the schedule's timed faults against the running world at their planned offsets: homeserver faults
 * through the admin API (dropped responses, 429/500, `M_UNKNOWN_POS`), the write-lock holder, SIGSTOP past the
 * lease, and main's kills (random moment or named kill point).
 *
 * Runtime: node. One timer per fault, all cancelled by `stop()` (the liveness phase runs without faults). A
 * fault that cannot land (main is down at that moment, so there is nothing to stall) is skipped and not counted.
 * Server faults are counted when the admin API accepted them; they are consumed by the device's next requests.
 */
import type { AdminClient } from '../homeserver/admin-client';
import type { FaultLog } from './fault-log';
import type { TimedFault } from './fault-schedule';
import type { MainSupervisor } from './main-supervisor';
import type { WriteLockHolders } from './write-lock';

export interface InjectorTargets {
  admin: AdminClient;
  userId: string;
  deviceId: string;
  dbPath: string;
  main: MainSupervisor;
  writeLocks: WriteLockHolders;
  faults: FaultLog;
}

export class FaultInjector {
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  readonly errors: string[] = [];

  constructor(private readonly targets: InjectorTargets) {}

  start(timed: readonly TimedFault[], startMs: number): void {
    for (const fault of timed) {
      const delayMs = Math.max(0, startMs + fault.atMs - Date.now());
      this.timers.push(setTimeout(() => void this.inject(fault).catch((error: unknown) => this.noteError(fault, error)), delayMs));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
  }

  private async inject(fault: TimedFault): Promise<void> {
    if (this.stopped) return;
    const { admin, userId, deviceId, faults, main } = this.targets;
    switch (fault.kind) {
      case 'drop-response':
        await admin.addFault(userId, deviceId, { kind: 'drop-response', count: fault.count });
        faults.record('drop-response', `count ${fault.count}`);
        return;
      case 'error':
        await admin.addFault(userId, deviceId, { kind: 'error', status: fault.status, count: fault.count });
        faults.record(`error-${fault.status}`, `count ${fault.count}`);
        return;
      case 'expire-pos':
        await admin.addFault(userId, deviceId, { kind: 'expire-pos' });
        faults.record('expire-pos');
        return;
      case 'write-lock':
        this.targets.writeLocks.hold(this.targets.dbPath, fault.holdMs, () => faults.record('write-lock', `${fault.holdMs} ms`));
        return;
      case 'sigstop-main':
        if (main.stall(fault.stallMs)) faults.record('sigstop-main', `${fault.stallMs} ms`);
        return;
      case 'kill-main':
        if (fault.how.kind === 'random') main.killNow(fault.restartDelayMs);
        else await main.killAtPoint(fault.how.point, fault.how.nth, fault.restartDelayMs);
        return;
    }
  }

  private noteError(fault: TimedFault, error: unknown): void {
    if (this.errors.length < 20) this.errors.push(`${fault.kind} at ${fault.atMs} ms: ${error instanceof Error ? error.message : String(error)}`);
  }
}
