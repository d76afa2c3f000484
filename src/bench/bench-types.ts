/**
 * The vocabulary of `todevice bench`: a figure is always reported next to its baseline, measured in the same run
 * on the same machine, and judged by the ratio between the two (these machines are shared and noisy, so absolute
 * numbers say little; ratios taken seconds apart say a lot).
 *
 * Runtime: node.
 */

/** `higher`: bigger is better (throughput); `lower`: smaller is better (latency, memory). */
export type Better = 'higher' | 'lower';

export interface Target {
  /** The ratio figure/baseline must be at least (`>=`) or at most (`<=`) this. */
  op: '>=' | '<=';
  ratio: number;
}

export interface Figure {
  /** Case number (1-9; 9 is the soak), as the table and the README list them. */
  caseNumber: number;
  name: string;
  value: number;
  baselineName: string;
  baseline: number;
  unit: string;
  better: Better;
  target?: Target;
  /** Anything a reader needs to judge the figure (sample counts, sizes). */
  note?: string;
  /** For a figure that is a median of alternated rounds: every round's value and baseline, in round order. */
  rounds?: { values: number[]; baselines: number[] };
}

export interface JudgedFigure extends Figure {
  ratio: number;
  /** `undefined` when the figure has no target. */
  pass: boolean | undefined;
}

export interface BenchSizes {
  /**
   * Alternated rounds of every figure whose value and baseline come from separate runs (drains, handoff,
   * contention): measured and baseline run back to back in every round, in alternating order, and a figure is
   * the round whose ratio is the median (or, for handoff, a percentile over the samples of all rounds), so a
   * disturbance of the shared machine hits both sides alike.
   */
  rounds: number;
  /** Messages in the drain backlog (case 1 and 5). */
  backlog: number;
  /** Batches timed in the commit-versus-raw-insert comparison. */
  commitBatches: number;
  /** Live messages timed in case 2. */
  liveSamples: number;
  /**
   * Notifier runs timed per condition in case 3, over all rounds; also the lease handoffs timed there. Case 3
   * judges a p99, which over fewer than 100 samples is simply the slowest one.
   */
  handoffSamples: number;
  /** Messages drained per condition and round in case 4. */
  contentionBacklog: number;
  /** sendToDevice requests in case 6. */
  serverRequests: number;
  /** sendToDevice requests sent, untimed, before case 6 times its servers. */
  serverWarmupRequests: number;
  /** Concurrent senders in case 6's target row (the row beside it has a quarter of them). */
  serverSenders: number;
  /** Olm-encrypted room keys drained per round in case 7 (and as many plaintext events). */
  olmBacklog: number;
  /** MSC3885 `limit` of every drain. */
  limit: number;
}

export const DEFAULT_SIZES: BenchSizes = {
  rounds: 5,
  backlog: 100_000,
  commitBatches: 300,
  liveSamples: 100,
  handoffSamples: 100,
  contentionBacklog: 20_000,
  serverRequests: 10_000,
  serverWarmupRequests: 2_000,
  serverSenders: 32,
  olmBacklog: 10_000,
  limit: 100,
};

export const QUICK_SIZES: BenchSizes = {
  rounds: 1,
  backlog: 1_000,
  commitBatches: 10,
  liveSamples: 5,
  handoffSamples: 2,
  contentionBacklog: 500,
  serverRequests: 100,
  serverWarmupRequests: 20,
  serverSenders: 4,
  olmBacklog: 200,
  limit: 100,
};

/** The cases of `todevice bench`, by the number in the table's first column (`--case`). */
export const BENCH_CASES = [1, 2, 3, 4, 5, 6, 7, 8] as const;

/** The sizes of case 8, scaling (case-scaling.ts). */
export interface ScalingSizes {
  /** Queue sizes of the drain figures, smallest first (the first is the baseline). */
  drainQueues: number[];
  /** Each queue size is drained until at least this many messages went through (see the header). */
  minDrained: number;
  /** Rows already in the inbox for the commit figure. */
  inboxRows: number;
  /** Devices of the three `sendToDevice` targets, smallest first (the first is the baseline). */
  deviceCounts: number[];
  /** Messages queued for another device during the `sendToDevice` figures. */
  queuedForOthers: number;
  /** `sendToDevice` round trips per target. */
  sendsPerTarget: number;
}

export const FULL_SCALING: ScalingSizes = {
  drainQueues: [1000, 10_000, 100_000, 1_000_000], minDrained: 50_000, inboxRows: 1_000_000,
  deviceCounts: [1, 100, 10_000], queuedForOthers: 100_000, sendsPerTarget: 1000,
};

export const QUICK_SCALING: ScalingSizes = {
  drainQueues: [100, 300, 1000, 3000], minDrained: 0, inboxRows: 5000, deviceCounts: [1, 10, 100], queuedForOthers: 1000, sendsPerTarget: 10,
};

/** To-device messages of `todevice bench --soak` by default, and the fewest it accepts (soak.ts). */
export const DEFAULT_SOAK_MESSAGES = 1_000_000;
export const MIN_SOAK_MESSAGES = 20_000;

export function judge(figure: Figure): JudgedFigure {
  const ratio = figure.baseline === 0 ? Number.NaN : figure.value / figure.baseline;
  const target = figure.target;
  const pass = target === undefined ? undefined : target.op === '>=' ? ratio >= target.ratio : ratio <= target.ratio;
  return { ...figure, ratio, pass };
}

export type Progress = (line: string) => void;
