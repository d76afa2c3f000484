/**
 * `todevice bench`: every benchmark case, each against its baseline, in one run on one homeserver process.
 *
 * Runtime: node. The cases run one after another (never concurrently, so no case measures another's load),
 * live latency first (see below).
 * Within a case, a figure and its baseline are measured side by side: alternated in rounds (drains, with
 * matrix-js-sdk's among ours; handoff; contention) or sample by sample (commit versus raw insert; live latency
 * versus a bare round trip). Sizes come from `DEFAULT_SIZES` or, for CI, `QUICK_SIZES`, which only proves
 * that everything runs. Case 8 (scaling, case-scaling.ts) runs last, at its own sizes (full or tiny); `--scaling`
 * runs it alone, and `--case` picks any of them (the table then holds only the figures of the cases picked).
 */
import type { BenchSizes, Figure, JudgedFigure, Progress, ScalingSizes } from './bench-types';
import { judge } from './bench-types';
import { benchWarnings } from './bench-warnings';
import { startBenchWorld, type BenchWorld } from './bench-world';
import { runContentionCase } from './case-contention';
import { runDrainCase } from './case-drain';
import { runHandoffCase } from './case-handoff';
import { runLatencyCase } from './case-latency';
import { runOlmDrainCase } from './case-olm-drain';
import { runScalingCase } from './case-scaling';
import { peerFigures } from './case-peer';
import { runServerCase } from './case-server';
import { prepareBenchProcesses, type BenchProcesses } from './bench-processes';

export interface BenchReport {
  quick: boolean;
  sizes: BenchSizes;
  machine: { cpus: number; node: string; platform: string };
  startedAt: string;
  elapsedS: number;
  figures: JudgedFigure[];
  /** What the figures say about the machine (bench-warnings.ts); empty when nothing stood out. */
  warnings: string[];
}

export interface BenchRun {
  sizes: BenchSizes;
  quick: boolean;
  progress: Progress;
  /** Case 8's sizes, when it runs. */
  scaling?: ScalingSizes;
  /** Only these cases (`--case`, `--scaling`); all of them when absent. */
  cases?: ReadonlySet<number>;
}

export async function runBench(input: BenchRun): Promise<BenchReport> {
  const { sizes, progress } = input;
  const startedAt = new Date();
  const world = await startBenchWorld();
  const processes = await prepareBenchProcesses();
  const figures: Figure[] = [];
  try {
    const wanted = (...cases: number[]) => input.cases === undefined || cases.some((n) => input.cases?.has(n) === true);
    figures.push(...(await runCases(world, processes, sizes, progress, wanted)));
    if (input.scaling !== undefined && wanted(8)) figures.push(...(await runScalingCase(world, sizes, input.scaling, progress)));
  } finally {
    processes.dispose();
    await world.close();
  }
  const os = await import('node:os');
  const judged = figures.filter((f) => input.cases === undefined || input.cases.has(f.caseNumber)).sort((a, b) => a.caseNumber - b.caseNumber).map(judge);
  return {
    quick: input.quick,
    sizes,
    machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform} ${process.arch}` },
    startedAt: startedAt.toISOString(),
    elapsedS: (Date.now() - startedAt.getTime()) / 1000,
    figures: judged,
    warnings: input.quick ? [] : benchWarnings(judged),
  };
}

/** Cases 1 to 7, those `wanted` picks. Case 5 is computed from case 1's drains, and case 6 from case 4's runs and the server's. */
async function runCases(
  world: BenchWorld,
  processes: BenchProcesses,
  sizes: BenchSizes,
  progress: Progress,
  wanted: (...cases: number[]) => boolean,
): Promise<Figure[]> {
  const figures: Figure[] = [];
  // Live latency first, before the drains write their gigabytes: measured right after them, even the two-fsync
  // floor (no protocol at all) took 3.3-4.0 round trips instead of the 2.2 it takes on a settled machine, because
  // the host was still absorbing the drains' writes and every fsync waited on that.
  if (wanted(2)) figures.push(...(await runLatencyCase(world, sizes, progress)));
  if (wanted(1, 5)) {
    const drain = await runDrainCase(world, sizes, progress);
    figures.push(...drain.figures, ...peerFigures(sizes, drain.samples));
  }
  if (wanted(3)) figures.push(...(await runHandoffCase(world, sizes, processes, progress)));
  if (wanted(4, 6)) figures.push(...(await runContentionCase(world, sizes, processes, progress)));
  if (wanted(6)) figures.push(...(await runServerCase(world, sizes, progress)));
  if (wanted(7)) figures.push(...(await runOlmDrainCase(world, sizes, progress)));
  return figures;
}
