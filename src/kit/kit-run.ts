/**
 * One kit run (a Playwright test, or one script that uses the kit without Playwright): its seed, its start time,
 * and the timeline of everything the kit did to the world (faults added, processes stopped or killed, notes the
 * test wrote), so the oracle's failure message can say what happened when.
 *
 * Runtime: node. The seed is chosen once per run (given, from `TODEVICE_SEED`, or drawn) and printed in every
 * verdict, so a failing test that used `random` for its choices replays with `TODEVICE_SEED=<seed>`. The
 * timeline is bounded so a test that injects faults in a loop cannot grow it without end.
 */
import { Rng } from '../harness/prng';

const maxTimelineEvents = 500;

/** Something the kit did, `atMs` after the run started. */
export interface KitEvent {
  atMs: number;
  kind: string;
  detail: string;
}

export class KitRun {
  readonly startedAtMs = Date.now();
  readonly timeline: KitEvent[] = [];
  /** Events left out of `timeline` once it was full. */
  omittedEvents = 0;
  /**
   * A float in [0, 1) from the run's seeded stream. A property, not a private generator, so the class has no
   * private members and matches its declaration in playwright/index.d.ts structurally.
   */
  readonly random: () => number;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`todevice kit: seed must be an integer in [0, 2^32), got ${seed}`);
    const rng = new Rng(seed);
    this.random = () => rng.float();
  }

  record(kind: string, detail: string): void {
    if (this.timeline.length >= maxTimelineEvents) {
      this.omittedEvents += 1;
      return;
    }
    this.timeline.push({ atMs: Date.now() - this.startedAtMs, kind, detail });
  }

  /** The timeline as lines `+1203 ms drop-response: ...`, for failure messages. */
  describeTimeline(): string[] {
    const lines = this.timeline.map((event) => `+${event.atMs} ms ${event.kind}: ${event.detail}`);
    if (this.omittedEvents > 0) lines.push(`(${this.omittedEvents} later events left out)`);
    return lines.length === 0 ? ['(no faults injected)'] : lines;
  }
}

/** The seed for a new run: `TODEVICE_SEED` when set (a failing run's seed, to replay it), else a fresh one. */
export function chooseSeed(fromEnv = process.env.TODEVICE_SEED): number {
  if (fromEnv === undefined || fromEnv === '') return Math.floor(Math.random() * 0x100000000);
  const seed = Number(fromEnv);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`TODEVICE_SEED must be an integer in [0, 2^32), got "${fromEnv}"`);
  return seed;
}
