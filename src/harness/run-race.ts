/**
 * `runRace`: the harness's one entry point, for the CLI (`todevice race`) and for the app host's dashboard.
 *
 * Runtime: node. Builds the schedule from the seed and options (pure), bundles the app's process entries once,
 * runs each strategy in turn on its own fresh homeserver and store with the SAME schedule, and returns the
 * report. It never throws for a strategy that lost messages: that is a result. It throws only when the harness
 * itself cannot run (a port, a temp directory, a process that cannot start).
 *
 * @example
 *   const report = await runRace({ ...DEFAULT_RACE_OPTIONS, strategy: 'all', seed: 7 }, (p) => console.error(p));
 *   if (!report.ok) console.error(report.reproduce);
 */
import { buildSchedule, scheduleHash } from './fault-schedule';
import { prepareEntries } from '../main/host/process-entries';
import { DEFAULT_RACE_OPTIONS, reproduceCommand, strategiesOf, validateRaceOptions, type RaceOptions } from './race-options';
import { RACE_REPORT_SCHEMA, type RaceProgress, type RaceReport, type StrategyReport } from './report-types';
import { runStrategy } from './strategy-run';

export type { RaceOptions } from './race-options';
export type { RaceProgress, RaceReport, StrategyReport } from './report-types';

export async function runRace(options: Partial<RaceOptions> = {}, onProgress: (progress: RaceProgress) => void = () => undefined): Promise<RaceReport> {
  const resolved: RaceOptions = { ...DEFAULT_RACE_OPTIONS, ...options, faults: { ...DEFAULT_RACE_OPTIONS.faults, ...options.faults } };
  validateRaceOptions(resolved);
  const schedule = buildSchedule(resolved);
  const startedAt = new Date();
  const entries = await prepareEntries();
  const strategies: StrategyReport[] = [];
  try {
    for (const strategy of strategiesOf(resolved)) {
      onProgress({ strategy, phase: 'starting', elapsedMs: 0, phaseElapsedMs: 0, safetyPhaseMs: resolved.durationS * 1000, livenessTimeoutMs: resolved.livenessTimeoutS * 1000, sent: 0, plannedSends: schedule.sends.length, handled: 0, kills: 0, faults: 0 });
      strategies.push(await runStrategy(resolved, strategy, schedule, entries, onProgress));
    }
  } finally {
    entries.dispose();
  }
  const failed = strategies.find((run) => !run.ok);
  return {
    schema: RACE_REPORT_SCHEMA,
    seed: resolved.seed,
    options: resolved,
    scheduleHash: scheduleHash(schedule),
    processMode: entries.mode,
    startedAt: startedAt.toISOString(),
    elapsedMs: Date.now() - startedAt.getTime(),
    strategies,
    ok: failed === undefined,
    reproduce: reproduceCommand(resolved, failed?.strategy ?? resolved.strategy),
  };
}
