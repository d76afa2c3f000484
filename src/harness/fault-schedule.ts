/**
 * The fault and traffic schedule of a race run: a pure function of the seed and the options.
 *
 * Runtime: node. Nothing here reads a clock or the environment, so the same seed and options give the same
 * schedule, byte for byte (`scheduleHash` prints a digest of it so two runs can be compared at a glance). What
 * the schedule cannot fix is the operating system's timing: a kill point armed for the 2nd commit dies wherever
 * that commit falls in real time. The report therefore counts faults as actually injected next to the plan.
 *
 * Times are offsets from the start of the safety phase. Notifier faults are indexed by launch order (the nth
 * push starts the nth notifier), because the time a push arrives is not ours to choose.
 */
import { createHash } from 'node:crypto';
import { ENGINE_KILL_POINTS, type KillPointName } from '../engine/kill-points';
import { Rng } from './prng';
import type { RaceOptions } from './race-options';

export type MainKill = { kind: 'point'; point: KillPointName; nth: number } | { kind: 'random' };

export type TimedFault =
  | { atMs: number; kind: 'drop-response'; count: number }
  | { atMs: number; kind: 'error'; status: 429 | 500; count: number }
  | { atMs: number; kind: 'expire-pos' }
  | { atMs: number; kind: 'write-lock'; holdMs: number }
  | { atMs: number; kind: 'sigstop-main'; stallMs: number }
  | { atMs: number; kind: 'kill-main'; how: MainKill; restartDelayMs: number };

export type NotifierFault = { kind: 'none' } | { kind: 'kill-point'; point: KillPointName } | { kind: 'kill-random'; afterMs: number };

export interface SendPlan {
  atMs: number;
  sender: number;
  kind: 'to-device' | 'room';
}

export interface Schedule {
  timed: TimedFault[];
  /** Indexed by notifier launch order; launches past the end get no fault. */
  notifierFaults: NotifierFault[];
  /** Sorted by time; each sender sends its own entries in this order. */
  sends: SendPlan[];
}

/** The lease duration the processes run with (engine default); a stall must outlast it. */
export const PROCESS_LEASE_MS = 3000;

export function buildSchedule(options: RaceOptions): Schedule {
  const root = new Rng(options.seed);
  const mainKills = Math.round(options.kills * options.faults.mainKillShare);
  const notifierKills = options.kills - mainKills;
  const pushes = Math.max(options.pushes, Math.ceil(notifierKills / 0.8));
  return {
    timed: [...slotFaults(root.fork('slots'), options), ...mainKillFaults(root.fork('main-kills'), options, mainKills)].sort(
      (a, b) => a.atMs - b.atMs,
    ),
    notifierFaults: notifierFaults(root.fork('notifier-kills'), options, pushes, notifierKills),
    sends: sendPlan(root.fork('traffic'), options, pushes),
  };
}

function slotFaults(rng: Rng, options: RaceOptions): TimedFault[] {
  const f = options.faults;
  const durationMs = options.durationS * 1000;
  const faults: TimedFault[] = [];
  const slots = Math.floor(durationMs / f.slotMs);
  for (let slot = 0; slot < slots; slot += 1) {
    const atMs = slot * f.slotMs + rng.int(0, f.slotMs - 1);
    const draw = rng.float();
    let edge = 0;
    const hit = (p: number): boolean => {
      const inside = draw >= edge && draw < edge + p;
      edge += p;
      return inside;
    };
    if (hit(f.dropResponse)) faults.push({ atMs, kind: 'drop-response', count: rng.int(1, 2) });
    else if (hit(f.error429)) faults.push({ atMs, kind: 'error', status: 429, count: rng.int(1, 3) });
    else if (hit(f.error500)) faults.push({ atMs, kind: 'error', status: 500, count: rng.int(1, 3) });
    else if (hit(f.expirePos)) faults.push({ atMs, kind: 'expire-pos' });
    else if (hit(f.writeLock)) faults.push({ atMs, kind: 'write-lock', holdMs: rng.int(300, 6000) });
    else if (hit(f.sigstopMain)) faults.push({ atMs, kind: 'sigstop-main', stallMs: PROCESS_LEASE_MS + rng.int(300, 1500) });
  }
  return faults;
}

/** Main kills spread evenly over the safety phase, each at a jittered time inside its share of it. */
function mainKillFaults(rng: Rng, options: RaceOptions, count: number): TimedFault[] {
  const durationMs = options.durationS * 1000;
  const faults: TimedFault[] = [];
  for (let i = 0; i < count; i += 1) {
    const share = durationMs / count;
    const atMs = Math.floor(i * share + rng.float() * share * 0.8);
    const how: MainKill = rng.chance(options.faults.killAtPoint)
      ? { kind: 'point', point: rng.pick(ENGINE_KILL_POINTS), nth: rng.int(1, 3) }
      : { kind: 'random' };
    // Main stays down up to 1.5 s: pushes then start notifiers alone, the window where legacy loses (F1).
    faults.push({ atMs, kind: 'kill-main', how, restartDelayMs: rng.int(50, 1500) });
  }
  return faults;
}

function notifierFaults(rng: Rng, options: RaceOptions, pushes: number, kills: number): NotifierFault[] {
  const doomed = new Set(rng.shuffle(Array.from({ length: pushes }, (_, i) => i)).slice(0, kills));
  const faults: NotifierFault[] = [];
  for (let i = 0; i < pushes; i += 1) {
    if (!doomed.has(i)) faults.push({ kind: 'none' });
    else if (rng.chance(options.faults.killAtPoint)) faults.push({ kind: 'kill-point', point: rng.pick(ENGINE_KILL_POINTS) });
    else faults.push({ kind: 'kill-random', afterMs: rng.int(0, 400) });
  }
  return faults;
}

/** To-device messages round-robin over senders at jittered times; pushes spread over the same window. */
function sendPlan(rng: Rng, options: RaceOptions, pushes: number): SendPlan[] {
  const windowMs = options.durationS * 1000 * 0.85;
  const sends: SendPlan[] = [];
  for (let i = 0; i < options.messages; i += 1) {
    sends.push({ atMs: Math.floor(rng.float() * windowMs), sender: i % options.senders, kind: 'to-device' });
  }
  for (let i = 0; i < pushes; i += 1) {
    sends.push({ atMs: Math.floor(((i + rng.float()) * windowMs) / Math.max(1, pushes)), sender: rng.int(0, options.senders - 1), kind: 'room' });
  }
  return sends.sort((a, b) => a.atMs - b.atMs || a.sender - b.sender);
}

/** A short digest of the schedule, printed with the seed: equal hashes mean equal schedules. */
export function scheduleHash(schedule: Schedule): string {
  return createHash('sha256').update(JSON.stringify(schedule)).digest('hex').slice(0, 16);
}

/** Planned faults by kind, for the report's "scheduled" column. */
export function plannedFaultCounts(schedule: Schedule): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (kind: string): void => {
    counts[kind] = (counts[kind] ?? 0) + 1;
  };
  for (const fault of schedule.timed) add(fault.kind === 'error' ? `error-${fault.status}` : fault.kind === 'kill-main' ? `kill-main-${fault.how.kind}` : fault.kind);
  for (const fault of schedule.notifierFaults) if (fault.kind !== 'none') add(`notifier-${fault.kind}`);
  return counts;
}
