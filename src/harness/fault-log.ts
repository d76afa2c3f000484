/**
 * The record of faults actually injected during one strategy run: counts by kind and a bounded timeline.
 *
 * Runtime: node. Every injector writes here at the moment a fault lands (a kill counts when the process is seen
 * dead by SIGKILL, not when it was planned), so the report's fault figures are observations, not intentions.
 */
import type { FaultEvent } from './report-types';

const maxTimelineEvents = 5000;

export class FaultLog {
  readonly counts: Record<string, number> = {};
  readonly timeline: FaultEvent[] = [];

  constructor(private readonly startMs: () => number) {}

  record(kind: string, detail?: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (this.timeline.length < maxTimelineEvents) {
      this.timeline.push({ atMs: Date.now() - this.startMs(), kind, ...(detail === undefined ? {} : { detail }) });
    }
  }

  /** SIGKILLs that landed, on main and notifiers, at kill points and at random moments. */
  get kills(): number {
    return Object.entries(this.counts)
      .filter(([kind]) => kind.startsWith('kill-'))
      .reduce((sum, [, n]) => sum + n, 0);
  }

  get total(): number {
    return Object.values(this.counts).reduce((sum, n) => sum + n, 0);
  }
}
