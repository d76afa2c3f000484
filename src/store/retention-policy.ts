/**
 * How much history the client store keeps: one policy for every process of the device, stored in the database.
 *
 * Runtime: node. Each limit says when a row *may* go: once it is beyond the newest `maxRows` rows or older than
 * `maxAgeMs`, whichever keeps fewer (`null` switches that bound off; both `null` keeps everything). Maintenance
 * (src/store/maintenance.ts) applies it in bounded steps. What each limit bounds:
 * - `inbox`: rows every consumer that must see them has passed (src/store/inbox-compaction.ts). The newest few
 *   stay so the dashboard and `todevice inbox` show what just arrived; rows a consumer still needs always stay.
 * - `notifierWindow`: how far behind the newest row the `notifier` cursor may fall. A notifier shows recent
 *   messages only, so older rows are passed over for it (counted as skipped) instead of holding the inbox for
 *   ever. `main` has no window: it never skips a row.
 * - `handled`, per consumer; `eventLog`; `notifications`; `timeline`: history kept for display and for the
 *   dashboard's counters, whose totals survive pruning (src/store/store-counters.ts).
 *   What reads `handled` rows rather than its totals needs only recent ones: the latency chart (the newest
 *   300), "pending" (tags of rows just committed), and duplicate detection, whose window the limit is. A
 *   duplicate is a redelivered batch, or two processes fetching the same one; it arrives within a request or a
 *   notifier run of the first copy, so 10,000 rows (the notifier's window, the most the inbox keeps for it) is
 *   hours or days of a device's traffic. At 20,000 per consumer the table was half the store at its bounds
 *   (50,000 rows, 5.5 MiB, against 4.2 MiB for a full inbox window; `todevice bench --soak`).
 *
 * Why in the database and not in each process's options: the host, the separate main sync process and every
 * notifier (started per push) must apply the same policy, and the store is the one thing they all open. The
 * host writes it once at start, before it starts any other process (`writeRetentionPolicy`); a process reads it
 * when it first needs it and keeps that copy (`retentionPolicyOf`). A store nobody wrote a policy into uses
 * `DEFAULT_RETENTION`.
 */
import type { ClientStore } from './open-store';

export interface RowLimit {
  /** Rows beyond the newest `maxRows` may go; `null`: no bound on rows. */
  maxRows: number | null;
  /** Rows older than this may go; `null`: no bound on age. */
  maxAgeMs: number | null;
}

export interface RetentionPolicy {
  inbox: RowLimit;
  notifierWindow: RowLimit;
  handled: RowLimit;
  eventLog: RowLimit;
  notifications: RowLimit;
  timeline: RowLimit;
}

/** Overrides of `DEFAULT_RETENTION`, limit by limit: the options object the host and the CLI pass. */
export type RetentionOptions = Partial<RetentionPolicy>;

export const DAY_MS = 24 * 60 * 60 * 1000;

/** Keeps every row: for the race harness, whose oracle reads the whole history after a run. */
export const KEEP_ALL: RowLimit = { maxRows: null, maxAgeMs: null };

export const DEFAULT_RETENTION: RetentionPolicy = {
  inbox: { maxRows: 200, maxAgeMs: null },
  notifierWindow: { maxRows: 10_000, maxAgeMs: DAY_MS },
  handled: { maxRows: 10_000, maxAgeMs: 7 * DAY_MS },
  eventLog: { maxRows: 5_000, maxAgeMs: 7 * DAY_MS },
  notifications: { maxRows: 10_000, maxAgeMs: 30 * DAY_MS },
  timeline: { maxRows: 10_000, maxAgeMs: 30 * DAY_MS },
};

/** What the race harness runs with: full history for its oracles, the inbox and the notifier as in production. */
export const HARNESS_RETENTION: RetentionOptions = { handled: KEEP_ALL, notifications: KEEP_ALL, timeline: KEEP_ALL };

export const RETENTION_KEYS = ['inbox', 'notifierWindow', 'handled', 'eventLog', 'notifications', 'timeline'] as const satisfies ReadonlyArray<
  keyof RetentionPolicy
>;

const META_KEY = 'retention_policy';
const cached = new WeakMap<ClientStore, RetentionPolicy>();

export function resolveRetention(options: RetentionOptions = {}): RetentionPolicy {
  const policy = { ...DEFAULT_RETENTION };
  for (const key of RETENTION_KEYS) {
    const limit = options[key];
    if (limit !== undefined) policy[key] = checkedLimit(limit, key);
  }
  return policy;
}

/** Stores `policy` (defaults filled in) for every process of the device; this store's copy is updated too. */
export function writeRetentionPolicy(store: ClientStore, options: RetentionOptions): RetentionPolicy {
  const policy = resolveRetention(options);
  store
    .statement('INSERT INTO todevice_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
    .run(META_KEY, JSON.stringify(policy));
  cached.set(store, policy);
  return policy;
}

/** The stored policy (read once per store connection), or the defaults when none was stored. */
export function retentionPolicyOf(store: ClientStore): RetentionPolicy {
  const known = cached.get(store);
  if (known !== undefined) return known;
  const row = store.statement('SELECT value FROM todevice_meta WHERE key = ?').get(META_KEY) as { value: string } | undefined;
  const policy = row === undefined ? DEFAULT_RETENTION : parseStoredPolicy(row.value);
  cached.set(store, policy);
  return policy;
}

/** A stored policy another version wrote may lack a limit or carry a bad one; those fall back to the default. */
function parseStoredPolicy(text: string): RetentionPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return DEFAULT_RETENTION;
  }
  const policy = { ...DEFAULT_RETENTION };
  if (typeof parsed !== 'object' || parsed === null) return policy;
  for (const key of RETENTION_KEYS) {
    const limit = (parsed as Record<string, unknown>)[key];
    if (isRowLimit(limit)) policy[key] = limit;
  }
  return policy;
}

function isRowLimit(value: unknown): value is RowLimit {
  if (typeof value !== 'object' || value === null) return false;
  const { maxRows, maxAgeMs } = value as Record<string, unknown>;
  return isBound(maxRows) && isBound(maxAgeMs);
}

function isBound(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0);
}

function checkedLimit(limit: RowLimit, key: string): RowLimit {
  if (!isRowLimit(limit)) throw new Error(`retention ${key}: maxRows and maxAgeMs must be null or non-negative integers`);
  return { maxRows: limit.maxRows, maxAgeMs: limit.maxAgeMs };
}

/** `10000 rows / 1 d`, `all`: how `todevice inbox` and the dashboard describe a limit. */
export function describeLimit(limit: RowLimit): string {
  if (limit.maxRows === null && limit.maxAgeMs === null) return 'all';
  const parts: string[] = [];
  if (limit.maxRows !== null) parts.push(`${limit.maxRows} rows`);
  if (limit.maxAgeMs !== null) parts.push(describeDurationMs(limit.maxAgeMs));
  return parts.join(' / ');
}

function describeDurationMs(ms: number): string {
  const units: Array<[string, number]> = [['d', DAY_MS], ['h', 3_600_000], ['min', 60_000], ['s', 1000]];
  for (const [unit, size] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}
