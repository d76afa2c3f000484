/**
 * Checkers that run DURING a race, every `intervalMs`, reading the shared store through the harness's own
 * connection (WAL: reads never wait for a writer, not even a held write lock). They assert the invariants a safe
 * strategy keeps at every moment, not just at the end, and record the first time each one broke:
 * - the shared token never moves backward (its stream position, the digits before `_`, never decreases);
 * - the main consumer never handles a tag twice;
 * - one lease generation has one holder: two commits under one generation by different holders mean the fence
 *   failed (F9).
 * They also keep every Olm-failed inbox row before compaction can delete it (olm-oracle.ts), and tally the
 * engines' process events (stale and fenced commits are the wasted requests). The event log
 * is bounded (5000 rows) and read incrementally; a gap in ids means rows were trimmed before we read them, and the
 * report says the tallies are then lower bounds.
 */
import { listProcessEvents } from '../store/event-log';
import { summarizeHandled } from '../store/handled';
import type { ClientStore } from '../store/open-store';
import { readToken } from '../store/token';
import { OlmFailureWatch } from './olm-oracle';

export class RunChecker {
  readonly violations: string[] = [];
  readonly eventCounts: Record<string, number> = {};
  eventLogGap = false;
  readonly olmFailures: OlmFailureWatch;
  private lastEventId = 0;
  private highestStreamId = -1;
  private readonly holderOfGeneration = new Map<number, string>();
  private reportedDuplicate = false;
  private reportedRegression = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ClientStore,
    private readonly startMs: number,
  ) {
    this.olmFailures = new OlmFailureWatch(store);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.check(), intervalMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.check();
  }

  check(): void {
    this.readEvents();
    this.olmFailures.observe();
    this.checkToken();
    if (!this.reportedDuplicate && summarizeHandled(this.store, 'main').duplicates > 0) {
      this.reportedDuplicate = true;
      this.violate('the main consumer handled a message twice');
    }
  }

  private readEvents(): void {
    for (let page = 0; page < 20; page += 1) {
      const events = listProcessEvents(this.store, { afterId: this.lastEventId, limit: 1000 });
      const first = events[0];
      if (first === undefined) return;
      if (first.id > this.lastEventId + 1 && this.lastEventId > 0) this.eventLogGap = true;
      for (const event of events) {
        this.eventCounts[event.kind] = (this.eventCounts[event.kind] ?? 0) + 1;
        if (event.kind === 'commit') this.checkGeneration(event.detail);
        this.lastEventId = event.id;
      }
    }
  }

  private checkGeneration(detail: Record<string, unknown>): void {
    const { generation, holder } = detail;
    if (typeof generation !== 'number' || typeof holder !== 'string') return;
    const known = this.holderOfGeneration.get(generation);
    if (known === undefined) this.holderOfGeneration.set(generation, holder);
    else if (known !== holder) this.violate(`lease generation ${generation} committed by two holders: ${known} and ${holder}`);
  }

  private checkToken(): void {
    const since = readToken(this.store).since;
    const streamId = since === null ? -1 : Number(/^(\d+)_/.exec(since)?.[1] ?? -1);
    if (streamId < this.highestStreamId && !this.reportedRegression) {
      this.reportedRegression = true;
      this.violate(`the shared token moved backward from stream ${this.highestStreamId} to ${streamId}`);
    }
    this.highestStreamId = Math.max(this.highestStreamId, streamId);
  }

  private violate(message: string): void {
    if (this.violations.length >= 20) return;
    this.violations.push(`${message} (at ${((Date.now() - this.startMs) / 1000).toFixed(1)} s)`);
  }
}
