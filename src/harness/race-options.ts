/**
 * What a race run is told: the options, their defaults, and the fault probabilities, all printed before a run
 * starts so that the seed line alone describes the run (TigerBeetle's VOPR prints the seed and every fault
 * probability first).
 *
 * Runtime: node. The fault schedule is a pure function of `seed` and these options (fault-schedule.ts), so the
 * command line rebuilt by `reproduceCommand` replays the same schedule.
 */
import type { CompatMode } from '../homeserver/context';
import { STRATEGIES, type Strategy } from '../shared/strategies';

/** Per-slot probabilities of the timed faults, and how kills are split. Every one is printed at start. */
export interface FaultProbabilities {
  /** Share of the `kills` aimed at the main process (the rest hit notifiers). */
  mainKillShare: number;
  /** Chance that a kill happens at a named kill point rather than at a random moment. */
  killAtPoint: number;
  /** Length of one fault slot; each slot draws at most one of the faults below. */
  slotMs: number;
  dropResponse: number;
  error429: number;
  error500: number;
  expirePos: number;
  /** A helper process takes the SQLite write lock (`BEGIN IMMEDIATE`) and holds it, sometimes past the busy timeout. */
  writeLock: number;
  /** The main process is SIGSTOPped for longer than its lease, then SIGCONTed. */
  sigstopMain: number;
}

export interface RaceOptions {
  strategy: Strategy | 'all';
  seed: number;
  /** To-device test messages sent during the safety phase, over all senders. */
  messages: number;
  /** Sending devices, each sending in order (per-sender order is what "reordered" is checked against). */
  senders: number;
  /** SIGKILLs scheduled during the safety phase, over main and notifiers. */
  kills: number;
  /** Length of the safety phase (faults on). */
  durationS: number;
  /** Room messages (each one push, one notifier); at least enough notifiers for the notifier kills. */
  pushes: number;
  /** Bound on the liveness phase (faults off), which must converge. */
  livenessTimeoutS: number;
  faults: FaultProbabilities;
  /**
   * How the embedded homeserver answers the to-device extension: `todevice` (MSC4538) or `synapse`
   * (`todevice serve --compat synapse`). Not part of the schedule: a seed's faults are the same under both.
   */
  compat?: CompatMode;
}

export const DEFAULT_FAULTS: FaultProbabilities = {
  mainKillShare: 0.2,
  killAtPoint: 0.5,
  slotMs: 500,
  dropResponse: 0.1,
  error429: 0.05,
  error500: 0.05,
  expirePos: 0.05,
  writeLock: 0.04,
  sigstopMain: 0.03,
};

export const DEFAULT_RACE_OPTIONS: RaceOptions = {
  strategy: 'all',
  seed: 1,
  messages: 300,
  senders: 3,
  kills: 30,
  durationS: 10,
  pushes: 0,
  livenessTimeoutS: 40,
  faults: DEFAULT_FAULTS,
};

/** `todevice race --long`: the longer kill campaign's seeds, and each run's kills and duration. */
export const LONG_CAMPAIGN = { seeds: 20, kills: 120, durationS: 20 } as const;

/** The strategies a run covers, in the order of the side-by-side table. */
export function strategiesOf(options: Pick<RaceOptions, 'strategy'>): Strategy[] {
  return options.strategy === 'all' ? [...STRATEGIES] : [options.strategy];
}

/** Strategies whose invariants must hold: a violation is a bug (exit 1); the others are expected to fail. */
export const SAFE_STRATEGIES: readonly Strategy[] = ['explicit-cas', 'explicit-lease'];

/** Throws with the reason when an option is out of range (a usage error at the CLI). */
export function validateRaceOptions(options: RaceOptions): void {
  const positive = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isFinite(value) || value < min || value > max) throw new RangeError(`--${name} must be between ${min} and ${max}, got ${value}`);
  };
  positive('seed', options.seed, 0, 2 ** 32 - 1);
  if (!Number.isInteger(options.seed)) throw new RangeError('--seed must be an integer');
  positive('messages', options.messages, 0, 100_000);
  positive('senders', options.senders, 1, 20);
  positive('kills', options.kills, 0, 10_000);
  positive('duration', options.durationS, 1, 3600);
  positive('pushes', options.pushes, 0, 20_000);
  for (const [name, value] of Object.entries(options.faults)) {
    if (name === 'slotMs') positive('slot-ms', value, 50, 60_000);
    else positive(name, value, 0, 1);
  }
}

/** The one-line description printed first: seed, every option, every fault probability. */
export function describeOptions(options: RaceOptions): string {
  const f = options.faults;
  const faults = Object.entries(f)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  return (
    `SEED=${options.seed} strategy=${options.strategy} messages=${options.messages} senders=${options.senders} ` +
    `kills=${options.kills} duration_s=${options.durationS} pushes=${options.pushes} liveness_timeout_s=${options.livenessTimeoutS} ${faults}` +
    (options.compat === 'synapse' ? ' server=synapse-compat' : '')
  );
}

/** The exact command that replays a run with the same schedule. */
export function reproduceCommand(options: RaceOptions, strategy: Strategy | 'all' = options.strategy): string {
  const parts = ['npx todevice race', `--strategy ${strategy}`, `--seed ${options.seed}`, `--messages ${options.messages}`];
  if (options.compat === 'synapse') parts.push('--compat synapse');
  parts.push(`--senders ${options.senders}`, `--kills ${options.kills}`, `--duration ${options.durationS}`);
  if (options.pushes > 0) parts.push(`--pushes ${options.pushes}`);
  const changed = Object.entries(options.faults).filter(([name, value]) => DEFAULT_FAULTS[name as keyof FaultProbabilities] !== value);
  for (const [name, value] of changed) parts.push(`--fault ${name}=${value}`);
  return parts.join(' ');
}
