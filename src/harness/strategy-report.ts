/**
 * Turns one finished strategy run into its `StrategyReport`: the oracle's verdict, the faults that landed, the
 * wasted requests, and the invariant violations that decide the exit code.
 *
 * Runtime: node. For a safe strategy (explicit-cas, explicit-lease) any lost, duplicated or reordered message,
 * any encrypted message the main timeline cannot decrypt after convergence, any checker violation and a liveness
 * phase that did not converge are violations, and so is any Olm harm (an Olm message never decrypted, a
 * redelivery that could not be decrypted again, a wedged session, a one-time key uploaded twice or lost, a
 * recovery message sent, olm-oracle.ts). Notifications shown as "unable to decrypt" are reported for every
 * strategy but not judged: a notifier that could not get the lease in its bounded wait (main stalled by a fault)
 * shows what it has, which is the right behaviour, not a lost key. For legacy and
 * explicit-naive the same figures are the expected result and are reported, not judged.
 */
import type { DeviceInspection } from '../shared/admin-wire';
import type { EngineEventKind } from '../engine/engine-types';
import type { Strategy } from '../shared/strategies';
import type { ClientStore } from '../store/open-store';
import { judge, latencyOfSamples, latencySamples, storeLatencySamples, type HandledRow } from './oracle';
import { splitAtScheduleFloor, type MainLog } from './main-availability';
import type { LoopDelaySummary } from './loop-delay';
import { olmViolations } from './olm-oracle';
import type { EncryptionFigures, OlmFigures, StrategyReport, TimelinePoint } from './report-types';
import { summarizeRunNotes, type RunNotes } from './report-notes';
import type { RunParts } from './strategy-run';

export interface StrategyReportInput {
  strategy: Strategy;
  mustBeSafe: boolean;
  parts: RunParts;
  handled: HandledRow[];
  inspection: DeviceInspection;
  plannedFaults: Record<string, number>;
  liveness: { converged: boolean; convergedAfterMs: number | null };
  encryption: EncryptionFigures;
  olm: OlmFigures;
  safetyPhaseMs: number;
  /** How late the harness's event loop (which runs the homeserver) ran during the safety phase (loop-delay.ts). */
  harnessLoopDelay: LoopDelaySummary;
  elapsedMs: number;
}

export function readHandledRows(store: ClientStore): HandledRow[] {
  const rows = store
    .statement("SELECT seq, tag, sent_at_ms, stored_at_ms, handled_at_ms FROM handled WHERE consumer = 'main' ORDER BY seq")
    .all() as Array<{ seq: number; tag: string | null; sent_at_ms: number | null; stored_at_ms: number | null; handled_at_ms: number }>;
  return rows.map((r) => ({ seq: r.seq, tag: r.tag, sentAtMs: r.sent_at_ms, storedAtMs: r.stored_at_ms, handledAtMs: r.handled_at_ms }));
}

/**
 * The event kinds that count as a main process's act for the schedule floor: a sync request and its outcome,
 * which every strategy logs alike. A lease's bookkeeping (`lease-acquired`, `lease-released`, `preempted`) and
 * the compare-and-set's `stale` are left out: each strategy writes its own, at its own moment. `lease-acquired`
 * is written at once, before the first request, while a request is buffered until its long poll goes out; so
 * with it, explicit-lease's main processes acted earlier than explicit-cas's on the same schedule, and a main
 * killed between its lease and its first long poll counted as able to handle messages. That gave explicit-lease
 * a tighter floor than explicit-cas, and a larger part beyond it, for the same start-ups.
 */
const MAIN_ACT_EVENT_KINDS: readonly EngineEventKind[] = ['request', 'response', 'commit', 'unchanged', 'error'];

/**
 * What the event log says of the main processes, for the schedule floor: each pid's first act
 * (`MAIN_ACT_EVENT_KINDS`), and since when the log is whole (row ids start at 1, so a first row above 1 means the
 * bounded log has dropped its oldest rows).
 */
export function readMainLog(store: ClientStore): MainLog {
  const kinds = MAIN_ACT_EVENT_KINDS.map(() => '?').join(', ');
  const first = store
    .statement(`SELECT pid, min(at_ms) AS atMs FROM event_log WHERE process = 'main' AND kind IN (${kinds}) GROUP BY pid`)
    .all(...MAIN_ACT_EVENT_KINDS) as Array<{ pid: number; atMs: number }>;
  const oldest = store.statement('SELECT min(id) AS id, min(at_ms) AS atMs FROM event_log').get() as { id: number | null; atMs: number | null };
  return {
    firstAtMsByPid: new Map(first.map(({ pid, atMs }) => [pid, atMs])),
    wholeSinceMs: oldest.id !== null && oldest.id > 1 && oldest.atMs !== null ? oldest.atMs : Number.NEGATIVE_INFINITY,
  };
}

export function buildStrategyReport(input: StrategyReportInput): StrategyReport {
  const { parts, inspection } = input;
  const verdict = judge(parts.traffic.sent, input.handled);
  const ordered = [...input.handled].sort((a, b) => a.seq - b.seq);
  const storeSamples = storeLatencySamples(ordered);
  const split = splitAtScheduleFloor(parts.availability, ordered, readMainLog(parts.world.store));
  const stale = parts.checker.eventCounts.stale ?? 0;
  const fenced = parts.checker.eventCounts.fenced ?? 0;
  const violations = input.mustBeSafe ? safetyViolations(input, verdict.totals) : [];
  return {
    strategy: input.strategy,
    mustBeSafe: input.mustBeSafe,
    ok: violations.length === 0,
    totals: verdict.totals,
    perSender: verdict.perSender,
    latency: verdict.latency,
    latencySamplesMs: latencySamples(ordered),
    storeLatency: latencyOfSamples(storeSamples),
    storeLatencySamplesMs: storeSamples,
    scheduleFloor: { forced: latencyOfSamples(split.forced), beyond: latencyOfSamples(split.beyond) },
    beyondFloorSamplesMs: split.beyond,
    faults: { ...parts.faults.counts },
    plannedFaults: input.plannedFaults,
    kills: parts.faults.kills,
    wastedRequests: { stale, fenced, total: stale + fenced },
    server: {
      accepted: inspection.accepted,
      deliveredIncludingRedeliveries: inspection.delivered,
      deleted: inspection.deleted,
      queuedAtEnd: inspection.queued.length,
    },
    notifiers: notifierFigures(parts),
    encryption: input.encryption,
    olm: input.olm,
    mainRestarts: parts.main.restartCount,
    liveness: input.liveness,
    violations: input.mustBeSafe ? violations : parts.checker.violations,
    lostSample: verdict.lostTags,
    ...notesOf(parts, input.harnessLoopDelay),
    safetyPhaseMs: input.safetyPhaseMs,
    harnessLoopDelay: input.harnessLoopDelay,
    elapsedMs: input.elapsedMs,
    timeline: timelineOf(input.handled, parts.startMs),
    faultTimeline: parts.faults.timeline,
  };
}

function notifierFigures(parts: RunParts): StrategyReport['notifiers'] {
  const { launched, finished, killed, failed, dataMissing } = parts.launcher.stats;
  return { launched, finished, killed, failed, dataMissing };
}

/** Diagnostics that are not verdicts, summed up in sentences, with the raw lines kept apart (report-notes.ts). */
function notesOf(parts: RunParts, harnessLoopDelay: LoopDelaySummary): RunNotes {
  return summarizeRunNotes({
    harnessLoopDelay,
    sendFailures: parts.traffic.failures,
    notifierFailures: parts.launcher.stats.failures,
    injectorErrors: parts.injector.errors,
    mainFailedExits: parts.main.failedExits,
    eventLogGap: parts.checker.eventLogGap,
    mainStderrTail: parts.main.stderrTail,
    serverLog: parts.world.serverLog,
  });
}

function safetyViolations(input: StrategyReportInput, totals: { lost: number; duplicated: number; reordered: number; sent: number }): string[] {
  const { parts, inspection } = input;
  const violations = [...parts.checker.violations];
  if (totals.lost > 0) violations.push(`${totals.lost} message(s) lost`);
  if (totals.duplicated > 0) violations.push(`${totals.duplicated} message(s) handled twice`);
  if (totals.reordered > 0) violations.push(`${totals.reordered} message(s) handled out of per-sender order`);
  const { timeline } = input.encryption;
  if (timeline.unableToDecrypt > 0) violations.push(`${timeline.unableToDecrypt} encrypted message(s) still undecryptable in the main timeline after convergence`);
  if (timeline.notPaged > 0) violations.push(`${timeline.notPaged} encrypted message(s) never reached the main timeline`);
  violations.push(...olmViolations(input.olm));
  if (!input.liveness.converged) violations.push(`liveness: did not converge within the liveness phase (${inspection.queued.length} still queued)`);
  if (inspection.accepted !== totals.sent) violations.push(`the homeserver accepted ${inspection.accepted} messages, the senders saw ${totals.sent} accepted`);
  return violations;
}

/** Handled-so-far over time, at most ~200 points, offsets from the start of the safety phase. */
function timelineOf(handled: readonly HandledRow[], startMs: number): TimelinePoint[] {
  const byTime = handled.map((row) => row.handledAtMs).sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(byTime.length / 200));
  const points: TimelinePoint[] = [{ atMs: 0, handled: 0 }];
  for (let i = step - 1; i < byTime.length; i += step) points.push({ atMs: (byTime[i] ?? startMs) - startMs, handled: i + 1 });
  const last = byTime.at(-1);
  if (last !== undefined && points.at(-1)?.handled !== byTime.length) points.push({ atMs: last - startMs, handled: byTime.length });
  return points;
}
