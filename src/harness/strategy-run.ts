/**
 * One strategy's race: a safety phase with faults, then a liveness phase without them that must converge, then
 * the oracle's verdict.
 *
 * Runtime: node. The phases, as TigerBeetle's simulator runs them:
 * 1. Safety (`durationS`): traffic from several senders, pushes that start notifiers, and every scheduled fault.
 *    Checkers run throughout (run-checker.ts).
 * 2. Liveness: faults off (server faults cleared, stalled main resumed, lock holders released, notifier faults
 *    disarmed, main running). The run must converge within `livenessTimeoutS`: the homeserver holds nothing
 *    for the device, no notifier runs, and the main consumer's cursor reached the end of the inbox. A safe
 *    strategy that does not converge is a liveness violation. The time to converge is the first check that saw
 *    that state, once it held for `convergeConfirmMs` (convergence-watch.ts).
 * 3. Verdict: the oracle compares what the homeserver accepted with what the main consumer handled, and the
 *    decryption oracle what the main timeline could decrypt (after giving it a bounded time to page), and the Olm
 *    oracle what the device's Olm state cost (failures by reason, wedged sessions, one-time keys).
 * Every wait is bounded; teardown always runs.
 */
import { readCursor } from '../store/cursors';
import { inboxStats } from '../store/inbox';
import type { Strategy } from '../shared/strategies';
import { ConvergenceWatch } from './convergence-watch';
import { FaultInjector } from './fault-injector';
import { FaultLog } from './fault-log';
import { plannedFaultCounts, type Schedule } from './fault-schedule';
import { LoopDelayMonitor } from './loop-delay';
import { MainAvailability } from './main-availability';
import { MainSupervisor } from './main-supervisor';
import { FaultyNotifierLauncher } from './notifier-faults';
import type { ProcessEntries } from '../main/host/process-entries';
import { SAFE_STRATEGIES, type RaceOptions } from './race-options';
import { startWorld, type RaceWorld } from './race-world';
import type { RaceProgress, StrategyReport } from './report-types';
import { judgeEncryption, waitForTimeline } from './decryption-oracle';
import { judgeOlm } from './olm-oracle';
import { RunChecker } from './run-checker';
import { buildStrategyReport, readHandledRows } from './strategy-report';
import { Traffic } from './traffic';
import { WriteLockHolders } from './write-lock';

const checkIntervalMs = 250;
const progressIntervalMs = 1000;
/** How often the liveness phase checks for convergence, and how long the converged state must hold to count. */
const convergePollMs = 50;
const convergeConfirmMs = 400;
const phasePollMs = 100;
const notifierDrainMs = 15_000;
const timelineBoundMs = 15_000;

export interface RunParts {
  world: RaceWorld;
  faults: FaultLog;
  main: MainSupervisor;
  launcher: FaultyNotifierLauncher;
  traffic: Traffic;
  checker: RunChecker;
  injector: FaultInjector;
  writeLocks: WriteLockHolders;
  /** When the faults left no main process able to handle anything (the report's schedule floor). */
  availability: MainAvailability;
  startMs: number;
}

export async function runStrategy(
  options: RaceOptions,
  strategy: Strategy,
  schedule: Schedule,
  entries: ProcessEntries,
  onProgress: (progress: RaceProgress) => void,
): Promise<StrategyReport> {
  const began = Date.now();
  let startMs = Date.now();
  const faults = new FaultLog(() => startMs);
  const launcher = new FaultyNotifierLauncher(entries, schedule.notifierFaults, faults);
  const world = await startWorld(strategy, options.senders, launcher, options.compat);
  const availability = new MainAvailability();
  const main = new MainSupervisor(entries, world.dataDir, strategy, faults, availability);
  const writeLocks = new WriteLockHolders(availability);
  const injector = new FaultInjector({ admin: world.admin, userId: world.account.userId, deviceId: world.account.deviceId, dbPath: world.dbPath, main, writeLocks, faults });
  const traffic = new Traffic(world.senders, { userId: world.account.userId, deviceId: world.account.deviceId }, world.roomId);
  await traffic.prepare();
  startMs = Date.now();
  const parts: RunParts = { world, faults, main, launcher, traffic, checker: new RunChecker(world.store, startMs), injector, writeLocks, availability, startMs };
  const loopDelay = new LoopDelayMonitor();
  try {
    loopDelay.start();
    await safetyPhase(parts, options, schedule, strategy, onProgress);
    const harnessLoopDelay = loopDelay.stop();
    const safetyPhaseMs = Date.now() - startMs;
    const liveness = await livenessPhase(parts, options, strategy, onProgress);
    parts.checker.stop();
    if (liveness.converged) await waitForTimeline(world.store, traffic.roomEvents, timelineBoundMs);
    const report = buildStrategyReport({
      strategy,
      mustBeSafe: SAFE_STRATEGIES.includes(strategy),
      parts,
      handled: readHandledRows(world.store),
      inspection: await world.admin.inspectDevice(world.account.userId, world.account.deviceId),
      plannedFaults: plannedFaultCounts(schedule),
      liveness,
      encryption: judgeEncryption(world.store, traffic.roomEvents),
      olm: judgeOlm(world.store, parts.checker.olmFailures, traffic.roomEvents),
      safetyPhaseMs,
      harnessLoopDelay,
      elapsedMs: Date.now() - began,
    });
    onProgress(progressOf(parts, strategy, 'done', schedule, options));
    return report;
  } finally {
    loopDelay.stop();
    traffic.close();
    injector.stop();
    parts.checker.stop();
    await writeLocks.release();
    await main.stop();
    await world.close();
  }
}

async function safetyPhase(parts: RunParts, options: RaceOptions, schedule: Schedule, strategy: Strategy, onProgress: (p: RaceProgress) => void): Promise<void> {
  const { main, injector, traffic, checker, startMs } = parts;
  main.start();
  checker.start(checkIntervalMs);
  injector.start(schedule.timed, startMs);
  const abort = new AbortController();
  const sending = traffic.play(schedule.sends, startMs, abort.signal);
  const endMs = startMs + options.durationS * 1000;
  // Bounded: the phase lasts its duration, and longer only while the planned sends finish (a loaded machine
  // sends late), but never past three durations.
  const hardEndMs = startMs + options.durationS * 3000;
  let sendsDone = false;
  void sending.finally(() => (sendsDone = true));
  let lastProgressMs = 0;
  const maxPolls = Math.ceil((hardEndMs - startMs) / phasePollMs) + 1;
  for (let poll = 0; poll < maxPolls && Date.now() < hardEndMs && (Date.now() < endMs || !sendsDone); poll += 1) {
    await new Promise((resolve) => setTimeout(resolve, phasePollMs));
    if (Date.now() - lastProgressMs < progressIntervalMs) continue;
    lastProgressMs = Date.now();
    onProgress(progressOf(parts, strategy, 'safety', schedule, options));
  }
  abort.abort();
  await sending;
}

async function livenessPhase(
  parts: RunParts,
  options: RaceOptions,
  strategy: Strategy,
  onProgress: (p: RaceProgress) => void,
): Promise<{ converged: boolean; convergedAfterMs: number | null }> {
  const { world, injector, launcher, writeLocks, main } = parts;
  const began = Date.now();
  injector.stop();
  launcher.faultsEnabled = false;
  await world.admin.clearFaults();
  await writeLocks.release();
  await main.settle();
  // Notifiers started during the safety phase may still carry a kill point; each is bounded by its lease wait.
  await Promise.race([launcher.idle(), new Promise((resolve) => setTimeout(resolve, notifierDrainMs))]);
  const deadline = began + options.livenessTimeoutS * 1000;
  // The time to converge is when the converged state was first seen, once it held for the confirmation window.
  const watch = new ConvergenceWatch(convergeConfirmMs);
  const maxPolls = Math.ceil((options.livenessTimeoutS * 1000) / convergePollMs) + 1;
  let progressAtMs = 0;
  for (let poll = 0; poll < maxPolls && Date.now() < deadline; poll += 1) {
    await main.settle();
    const passed = await converged(world, launcher, main);
    const convergedAtMs = watch.record(Date.now() - began, passed);
    if (convergedAtMs !== undefined) return { converged: true, convergedAfterMs: convergedAtMs };
    if (Date.now() - progressAtMs >= progressIntervalMs) {
      progressAtMs = Date.now();
      onProgress({ ...progressOf(parts, strategy, 'liveness', undefined, options), phaseElapsedMs: Date.now() - began });
    }
    await new Promise((resolve) => setTimeout(resolve, convergePollMs));
  }
  return { converged: false, convergedAfterMs: null };
}

/** Nothing queued on the server, no notifier running, main running and caught up with the inbox. */
async function converged(world: RaceWorld, launcher: FaultyNotifierLauncher, main: MainSupervisor): Promise<boolean> {
  if (launcher.running > 0 || !main.running) return false;
  const inspection = await world.admin.inspectDevice(world.account.userId, world.account.deviceId);
  if (inspection.queued.length > 0) return false;
  // The last seq ever appended, not the highest left in the inbox: main's maintenance compacts what it passed.
  const lastSeq = inboxStats(world.store).lastSeq;
  return (readCursor(world.store, 'main') ?? 0) >= lastSeq;
}

function progressOf(parts: RunParts, strategy: Strategy, phase: RaceProgress['phase'], schedule: Schedule | undefined, options: RaceOptions): RaceProgress {
  return {
    strategy,
    phase,
    elapsedMs: Date.now() - parts.startMs,
    phaseElapsedMs: Date.now() - parts.startMs,
    safetyPhaseMs: options.durationS * 1000,
    livenessTimeoutMs: options.livenessTimeoutS * 1000,
    sent: parts.traffic.sentCount,
    plannedSends: schedule?.sends.length ?? 0,
    handled: readHandledCount(parts),
    kills: parts.faults.kills,
    faults: parts.faults.total,
  };
}

function readHandledCount(parts: RunParts): number {
  const row = parts.world.store.statement("SELECT count(*) AS n FROM handled WHERE consumer = 'main'").get() as { n: number };
  return row.n;
}
