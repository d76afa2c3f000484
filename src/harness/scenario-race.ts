/**
 * A hand-written schedule run on real processes, for the named failure-mode scenarios (test/scenarios): the
 * same machinery as `runRace` (world, supervisor, launcher, injector, checkers, oracle), but the timed faults and
 * sends are written out by the scenario instead of drawn from a seed, so each scenario shows one failure mode.
 *
 * Runtime: node.
 */
import type { Strategy } from '../shared/strategies';
import type { NotifierFault, Schedule, SendPlan, TimedFault } from './fault-schedule';
import { prepareEntries } from '../main/host/process-entries';
import { DEFAULT_RACE_OPTIONS, type RaceOptions } from './race-options';
import type { StrategyReport } from './report-types';
import { runStrategy } from './strategy-run';

export interface ScenarioPlan {
  /** Safety phase length; the plan's times are offsets into it. */
  durationS: number;
  senders?: number;
  timed?: TimedFault[];
  notifierFaults?: NotifierFault[];
  sends: SendPlan[];
}

export async function runScenarioRace(strategy: Strategy, plan: ScenarioPlan): Promise<StrategyReport> {
  const options: RaceOptions = { ...DEFAULT_RACE_OPTIONS, strategy, durationS: plan.durationS, senders: plan.senders ?? 1, livenessTimeoutS: 30 };
  const schedule: Schedule = {
    timed: [...(plan.timed ?? [])].sort((a, b) => a.atMs - b.atMs),
    notifierFaults: plan.notifierFaults ?? [],
    sends: [...plan.sends].sort((a, b) => a.atMs - b.atMs),
  };
  const entries = await prepareEntries();
  try {
    return await runStrategy(options, strategy, schedule, entries, () => undefined);
  } finally {
    entries.dispose();
  }
}

/** `count` to-device sends from `sender`, one every `everyMs` from `fromMs`. */
export function toDeviceSends(fromMs: number, count: number, everyMs: number, sender = 0): SendPlan[] {
  return Array.from({ length: count }, (_, i) => ({ atMs: fromMs + i * everyMs, sender, kind: 'to-device' as const }));
}

/** Room messages (each one push, one notifier) at the given offsets. */
export function pushesAt(times: readonly number[], sender = 0): SendPlan[] {
  return times.map((atMs) => ({ atMs, sender, kind: 'room' as const }));
}
