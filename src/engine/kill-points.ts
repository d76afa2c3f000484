/**
 * Named kill points: places in the sync engine and the consumers where a process kills itself with SIGKILL when
 * configured to, so tests and the race harness can crash a real process at an exact line (DESIGN.md §6).
 *
 * Runtime: node. Configuration comes from an option or from the environment:
 *   TODEVICE_KILL_AT=<name>[:<nth hit>]   e.g. `mid-commit` or `after-commit-before-ack:3` (nth defaults to 1)
 *   TODEVICE_KILL_PROCESS=<processName>   optional; only the process with that name dies
 * The action on a hit is injectable: real processes SIGKILL themselves (no cleanup, no `finally`, no flush,
 * exactly like the OS killing a phone's notification extension); unit tests and the property test pass an
 * action that records the hit or throws a "simulated crash" that unwinds the engine (inside a transaction a
 * throw rolls back just as a SIGKILL does).
 */
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';

/** Where the sync engine and the consumers can die; the race harness's fault schedule picks among these. */
export const ENGINE_KILL_POINTS = [
  /** The server answered the sync request (so it acted on `since`) but the client has not read the answer. */
  'after-request-sent',
  /** The response was parsed; nothing of it is durable yet. */
  'after-response-before-commit',
  /** Inside the commit: the token was swapped, the events not yet appended. SQLite rolls the swap back. */
  'mid-commit',
  /** The batch is durable; its `next_batch` has not been sent as `since` yet. */
  'after-commit-before-ack',
  /** A consumer's handler wrote its effects; the cursor has not moved (same transaction: both roll back). */
  'consumer-after-effect-before-cursor',
  /** The lease was just acquired (the holder dies holding it: F10). */
  'after-lease-acquired',
] as const;

/**
 * Where a process that holds the device's Olm state can die (main and notifier alike: name the process with
 * TODEVICE_KILL_PROCESS). Hit only by Olm work, so plaintext traffic never reaches them.
 */
export const OLM_KILL_POINTS = [
  /**
   * A batch holding an Olm-encrypted event was decrypted (sessions advanced, one-time keys used) and is not
   * committed yet. Explicit strategies: inside the commit, so the Olm writes roll back with the batch.
   */
  'after-decrypt-before-commit',
  /** `/keys/upload` answered; the keys are not marked published yet (the next attempt uploads them again). */
  'after-keys-upload-before-mark-published',
] as const;

export const KILL_POINT_NAMES = [
  ...ENGINE_KILL_POINTS,
  ...OLM_KILL_POINTS,
  /**
   * The notifier synced, committed and consumed (room keys included) but has shown nothing yet: whatever it
   * fetched must still reach the main process.
   */
  'notifier-before-display',
] as const;

export type KillPointName = (typeof KILL_POINT_NAMES)[number];

export interface KillPointConfig {
  name: KillPointName;
  /** Die on the nth hit of this point (1-based). */
  nth: number;
  /** When set, only the process with this name dies. */
  processName?: string;
}

export interface KillPoints {
  /** Marks that execution reached `name`; performs the configured action when it is the chosen hit. */
  hit(name: KillPointName): void;
}

/** Kills the current process at once, as the OS would. */
export function sigkillSelf(): void {
  process.kill(process.pid, 'SIGKILL');
}

/** Parses `<name>[:<nth>]`. */
export function parseKillPointSpec(spec: string): Result<{ name: KillPointName; nth: number }, string> {
  const [rawName, rawNth, ...rest] = spec.trim().split(':');
  if (rest.length > 0 || rawName === undefined) return err(`kill point "${spec}": expected <name>[:<nth hit>]`);
  const name = KILL_POINT_NAMES.find((candidate) => candidate === rawName);
  if (name === undefined) return err(`kill point "${rawName}" is unknown; known: ${KILL_POINT_NAMES.join(', ')}`);
  const nth = rawNth === undefined ? 1 : Number(rawNth);
  if (!Number.isInteger(nth) || nth < 1) return err(`kill point "${spec}": nth hit must be a positive integer`);
  return ok({ name, nth });
}

/** Reads TODEVICE_KILL_AT / TODEVICE_KILL_PROCESS. Returns undefined when unset; a malformed value is an error. */
export function killPointConfigFromEnv(env: NodeJS.ProcessEnv): Result<KillPointConfig | undefined, string> {
  const spec = env.TODEVICE_KILL_AT;
  if (spec === undefined || spec === '') return ok(undefined);
  const parsed = parseKillPointSpec(spec);
  if (!parsed.ok) return parsed;
  const processName = env.TODEVICE_KILL_PROCESS;
  return ok({ ...parsed.value, ...(processName ? { processName } : {}) });
}

/**
 * Kill points for the process named `processName`. With no config every hit is a no-op. `onKill` defaults to
 * SIGKILL; the hit counts per point are observable through `hits` for tests.
 */
export function createKillPoints(
  config: KillPointConfig | undefined,
  processName: string,
  onKill: (name: KillPointName) => void = sigkillSelf,
): KillPoints & { readonly hits: ReadonlyMap<KillPointName, number> } {
  const hits = new Map<KillPointName, number>();
  const armed = config !== undefined && (config.processName === undefined || config.processName === processName);
  return {
    hits,
    hit(name: KillPointName): void {
      const count = (hits.get(name) ?? 0) + 1;
      hits.set(name, count);
      if (armed && config.name === name && config.nth === count) onKill(name);
    },
  };
}

export const noKillPoints: KillPoints = { hit: () => undefined };

/** A process's kill points: from `killPoint` when given, else from TODEVICE_KILL_AT / TODEVICE_KILL_PROCESS (a bad value throws). */
export function createProcessKillPoints(processName: string, killPoint?: KillPointConfig, env: NodeJS.ProcessEnv = process.env): KillPoints {
  if (killPoint !== undefined) return createKillPoints(killPoint, processName);
  const fromEnv = killPointConfigFromEnv(env);
  if (!fromEnv.ok) throw new Error(`TODEVICE_KILL_AT: ${fromEnv.error}`);
  return createKillPoints(fromEnv.value, processName);
}
