/**
 * What a campaign's seeds add up to, per strategy: the latency distribution over every delivered message of
 * every seed (not one chosen seed), the time to converge, the wasted requests, and the default strategy's speed
 * targets judged seed by seed against explicit-cas on the same schedule.
 *
 * Runtime: node (pure: reports in, figures and sentences out). Guarantees:
 * - p50 / p99 / max are nearest-rank over the pooled per-message samples of all seeds (`latencySamplesMs`), so a
 *   seed with many messages weighs as much as its messages; a report without samples (written before they
 *   existed) still counts in the per-seed columns and is named in `seedsWithoutSamples`.
 * - The targets are judged on every seed where explicit-lease ran; a comparison with explicit-cas is made only on
 *   a seed where both ran (the same seed means the same schedule). A miss is a sentence that names the seed, the
 *   figure and the bound.
 * - The same targets are judged a second time on the latency beyond what the seed's faults forced
 *   (`beyondFloorSamplesMs`, main-availability.ts): a seed that kills main and restarts it 1.5 s later, or holds
 *   the store's write lock for 4 s, sets a latency no strategy can beat, and the part beyond it is what the
 *   strategy decides. Both verdicts are printed; neither replaces the other.
 * - Nothing here fails a run: latency depends on the machine's load, so the verdict is printed for a person to
 *   read (`todevice race --campaign`, the kill campaign's output), and the safety invariants stay the only
 *   assertions: a timed assertion would fail on a loaded machine while every message was still delivered.
 */
import type { Strategy } from '../shared/strategies';
import { percentile } from './oracle';
import type { LatencySummary, RaceReport, StrategyReport } from './report-types';

/** The default strategy's speed targets under the campaign's faults. */
export const LEASE_SPEED_TARGETS = { p50Ms: 500, p99Ms: 2000, convergedWithinMs: 1000 } as const;

export interface StrategyLatencyAggregate {
  strategy: Strategy;
  /** Seeds (runs) of this strategy in the campaign. */
  seeds: number;
  /** Delivered messages whose latency was pooled. */
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /**
   * The first part of the latency, send to stored in the inbox by any process, pooled the same way: what the
   * strategy decides. The rest (stored to handled) is whether a main process was running to handle the row.
   * Null when no seed recorded it (reports written before it existed).
   */
  storeP50Ms: number | null;
  storeP99Ms: number | null;
  /** The latency beyond what the faults forced (main-availability.ts), pooled the same way; null as above. */
  beyondP50Ms: number | null;
  beyondP99Ms: number | null;
  /** The worst seed's own p50 and p99. */
  worstSeedP50Ms: number | null;
  worstSeedP99Ms: number | null;
  /** Time to converge after the faults stopped: the median and the slowest seed; runs that did not converge are counted apart. */
  convergeP50Ms: number | null;
  convergeMaxMs: number | null;
  notConverged: number;
  /** Stale plus fenced commits over all seeds, and the worst seed's. */
  wastedRequests: number;
  worstSeedWastedRequests: number;
  seedsWithoutSamples: number[];
}

export interface TargetCheck {
  seed: number;
  /** What is compared, e.g. "p50 296 ms <= 500 ms". */
  text: string;
  met: boolean;
}

export interface CampaignLatency {
  strategies: StrategyLatencyAggregate[];
  /** explicit-lease's targets, seed by seed; empty when explicit-lease did not run. */
  targets: TargetCheck[];
  /** True when every target check was met (and at least one was made). */
  targetsMet: boolean;
  /** The latency targets judged on the part beyond what the faults forced; empty without those samples. */
  targetsBeyondFaults: TargetCheck[];
}

export function campaignLatency(reports: readonly RaceReport[]): CampaignLatency {
  const runs = reports.flatMap((report) => report.strategies.map((run) => ({ seed: report.seed, run })));
  const strategies = [...new Set(runs.map(({ run }) => run.strategy))];
  const aggregates = strategies.map((strategy) => aggregateOf(strategy, runs.filter(({ run }) => run.strategy === strategy)));
  const targets = leaseTargetChecks(runs);
  return {
    strategies: aggregates,
    targets,
    targetsMet: targets.length > 0 && targets.every((check) => check.met),
    targetsBeyondFaults: beyondFaultsChecks(runs),
  };
}

function aggregateOf(strategy: Strategy, runs: ReadonlyArray<{ seed: number; run: StrategyReport }>): StrategyLatencyAggregate {
  const pooled = runs.flatMap(({ run }) => run.latencySamplesMs ?? []).sort((a, b) => a - b);
  const pooledStore = runs.flatMap(({ run }) => run.storeLatencySamplesMs ?? []).sort((a, b) => a - b);
  const pooledBeyond = runs.flatMap(({ run }) => run.beyondFloorSamplesMs ?? []).sort((a, b) => a - b);
  const converge = runs.flatMap(({ run }) => (run.liveness.converged && run.liveness.convergedAfterMs !== null ? [run.liveness.convergedAfterMs] : [])).sort((a, b) => a - b);
  const maxOf = (values: ReadonlyArray<number | null>): number | null => {
    const known = values.filter((value): value is number => value !== null);
    return known.length === 0 ? null : Math.max(...known);
  };
  const wasted = runs.map(({ run }) => run.wastedRequests.total);
  return {
    strategy,
    seeds: runs.length,
    samples: pooled.length,
    p50Ms: percentile(pooled, 0.5),
    p99Ms: percentile(pooled, 0.99),
    maxMs: pooled.at(-1) ?? null,
    storeP50Ms: percentile(pooledStore, 0.5),
    storeP99Ms: percentile(pooledStore, 0.99),
    beyondP50Ms: percentile(pooledBeyond, 0.5),
    beyondP99Ms: percentile(pooledBeyond, 0.99),
    worstSeedP50Ms: maxOf(runs.map(({ run }) => run.latency.p50Ms)),
    worstSeedP99Ms: maxOf(runs.map(({ run }) => run.latency.p99Ms)),
    convergeP50Ms: percentile(converge, 0.5),
    convergeMaxMs: converge.at(-1) ?? null,
    notConverged: runs.filter(({ run }) => !run.liveness.converged).length,
    wastedRequests: wasted.reduce((sum, n) => sum + n, 0),
    worstSeedWastedRequests: wasted.length === 0 ? 0 : Math.max(...wasted),
    seedsWithoutSamples: runs.filter(({ run }) => run.latencySamplesMs === undefined).map(({ seed }) => seed),
  };
}

function leaseTargetChecks(runs: ReadonlyArray<{ seed: number; run: StrategyReport }>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const t = LEASE_SPEED_TARGETS;
  for (const { seed, run: lease } of runs.filter(({ run }) => run.strategy === 'explicit-lease')) {
    const cas = runs.find((other) => other.seed === seed && other.run.strategy === 'explicit-cas')?.run;
    const check = (met: boolean, text: string): number => checks.push({ seed, met, text });
    boundChecks(lease.latency, check);
    const converged = lease.liveness.converged ? lease.liveness.convergedAfterMs : null;
    check(converged !== null && converged <= t.convergedWithinMs, `converged ${converged === null ? 'never' : `after ${converged} ms`} <= ${t.convergedWithinMs} ms`);
    if (cas === undefined) continue;
    againstCasCheck(lease.latency, cas.latency, check);
    check(lease.wastedRequests.total <= cas.wastedRequests.total, `wasted requests ${lease.wastedRequests.total} <= explicit-cas's ${cas.wastedRequests.total}`);
  }
  return checks;
}

/** p50 and p99 targets (and p50 against explicit-cas's) on the latency beyond what each seed's faults forced. */
function beyondFaultsChecks(runs: ReadonlyArray<{ seed: number; run: StrategyReport }>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const { seed, run: lease } of runs.filter(({ run }) => run.strategy === 'explicit-lease')) {
    const beyond = lease.scheduleFloor?.beyond;
    if (beyond === undefined) continue;
    const casBeyond = runs.find((other) => other.seed === seed && other.run.strategy === 'explicit-cas')?.run.scheduleFloor?.beyond;
    const check = (met: boolean, text: string): number => checks.push({ seed, met, text });
    boundChecks(beyond, check);
    if (casBeyond !== undefined) againstCasCheck(beyond, casBeyond, check);
  }
  return checks;
}

type Check = (met: boolean, text: string) => void;

/** The p50 and p99 bounds of `LEASE_SPEED_TARGETS` on one latency, worded the same in both verdicts. */
function boundChecks(latency: Pick<LatencySummary, 'p50Ms' | 'p99Ms'>, check: Check): void {
  const t = LEASE_SPEED_TARGETS;
  check(latency.p50Ms !== null && latency.p50Ms <= t.p50Ms, `p50 ${ms(latency.p50Ms)} <= ${t.p50Ms} ms`);
  check(latency.p99Ms !== null && latency.p99Ms <= t.p99Ms, `p99 ${ms(latency.p99Ms)} <= ${t.p99Ms} ms`);
}

/** explicit-lease's p50 at most explicit-cas's on the same seed. */
function againstCasCheck(lease: Pick<LatencySummary, 'p50Ms'>, cas: Pick<LatencySummary, 'p50Ms'>, check: Check): void {
  check(lease.p50Ms !== null && cas.p50Ms !== null && lease.p50Ms <= cas.p50Ms, `p50 ${ms(lease.p50Ms)} <= explicit-cas's ${ms(cas.p50Ms)}`);
}

const ms = (value: number | null): string => (value === null ? '-' : `${value} ms`);

/** The aggregate as a plain-text table, one row per strategy (the README pastes it as Markdown: `markdown`). */
export function campaignLatencyTable(latency: CampaignLatency, format: 'text' | 'markdown' = 'text'): string {
  const header = ['strategy', 'seeds', 'messages', 'p50', 'p99', 'max', 'to the store p50 / p99', 'beyond the faults p50 / p99', 'worst seed p50', 'worst seed p99', 'converged (median / slowest)', 'wasted requests (worst seed)'];
  const body = latency.strategies.map((a) => [
    a.strategy,
    String(a.seeds),
    String(a.samples),
    ms(a.p50Ms),
    ms(a.p99Ms),
    ms(a.maxMs),
    `${ms(a.storeP50Ms)} / ${ms(a.storeP99Ms)}`,
    `${ms(a.beyondP50Ms)} / ${ms(a.beyondP99Ms)}`,
    ms(a.worstSeedP50Ms),
    ms(a.worstSeedP99Ms),
    `${ms(a.convergeP50Ms)} / ${ms(a.convergeMaxMs)}${a.notConverged > 0 ? ` (${a.notConverged} not converged)` : ''}`,
    `${a.wastedRequests} (${a.worstSeedWastedRequests})`,
  ]);
  if (format === 'markdown') {
    const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
    return [row(header), row(header.map(() => '---')), ...body.map(row)].join('\n');
  }
  const widths = header.map((_, column) => Math.max(...[header, ...body].map((line) => (line[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * The targets' verdict in lines: one summary line, then every miss with its seed. Says so when explicit-lease
 * did not run, rather than claiming the targets were met.
 */
export function latencyVerdictLines(latency: CampaignLatency): string[] {
  if (latency.targets.length === 0) return ['speed targets of explicit-lease: not judged (explicit-lease did not run)'];
  const t = LEASE_SPEED_TARGETS;
  const lines = verdictLines(
    'speed targets of explicit-lease',
    latency.targets,
    `p50 <= ${t.p50Ms} ms and <= explicit-cas's, p99 <= ${t.p99Ms} ms, converged within ${t.convergedWithinMs} ms, wasted requests <= explicit-cas's`,
  );
  if (latency.targetsBeyondFaults.length === 0) return lines;
  return [
    ...lines,
    ...verdictLines(
      'the same latency targets on the latency beyond what the faults forced',
      latency.targetsBeyondFaults,
      `p50 <= ${t.p50Ms} ms and <= explicit-cas's, p99 <= ${t.p99Ms} ms`,
    ),
  ];
}

function verdictLines(title: string, checks: readonly TargetCheck[], bounds: string): string[] {
  const misses = checks.filter((check) => !check.met);
  const seeds = new Set(checks.map((check) => check.seed)).size;
  if (misses.length === 0) return [`${title}: MET on all ${seeds} seed(s) (${bounds})`];
  return [
    `${title}: MISSED ${misses.length} of ${checks.length} checks over ${seeds} seed(s) (${bounds})`,
    ...misses.map((check) => `  seed ${check.seed}: ${check.text} is not met`),
  ];
}
