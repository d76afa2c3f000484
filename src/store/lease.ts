/**
 * The cross-process lease, with matrix-rust-sdk's semantics (`cross_process_lock`, `try_take_leased_lock`).
 *
 * Runtime: node. One upsert does everything: it takes the lease if nobody holds it or the holder's lease has
 * expired, extends it if the caller already holds it, and bumps `generation` whenever the holder changes.
 * Releasing keeps the holder name and sets the expiry to 0, so the same holder taking it again without anyone in
 * between keeps the generation (nothing to reload), exactly as rust-sdk does.
 *
 * Why a lease at all: the compare-and-set commit already makes two processes safe (DESIGN.md §4.3); the lease
 * makes them efficient (one process syncs, the other does not waste requests) and gives one process the right to
 * process a batch. Safety never depends on clocks: a holder that stalled past its expiry (F9) is stopped by the
 * fencing check in `commitBatch`, which compares holder and generation, not time.
 *
 * `lease_wanted` rows let a waiting process ask the holder to give the lease up early (DESIGN.md §4.4); a waiter
 * refreshes its row while it waits, so rows of a waiter that crashed go stale and are ignored.
 *
 * A holder known to be gone (its process no longer exists, or is stopped: src/engine/holder-liveness.ts) need not
 * be waited out: `tryAcquireLease` with `holderGone` takes an unexpired lease from it with a compare-and-set on the
 * holder and generation it saw, bumping the generation, so a second waiter that saw the same dead holder loses the race
 * cleanly. Safety does not rest on that judgement either: a holder wrongly judged gone is fenced at its next
 * commit, exactly like one that stalled past its expiry.
 */
import type { ClientStore } from './open-store';

/** The lease every to-device consumer takes before it syncs (the engine's default key). */
export const TO_DEVICE_LEASE_KEY = 'to-device';

export type LeaseAcquisition =
  | { acquired: true; generation: number; generationChanged: boolean; expiresAtMs: number; takenFromGoneHolder?: string }
  | { acquired: false; holder: string; expiresAtMs: number; generation: number };

export interface LeaseRow {
  key: string;
  holder: string;
  expiresAtMs: number;
  generation: number;
}

/**
 * Takes or extends the lease `key` for `holder` until `nowMs + durationMs`. `knownGeneration` is the generation
 * this holder last held (if any); `generationChanged` tells the caller someone else held the lease in between
 * and anything cached from the database must be reloaded. `holderGone`, when given, is asked about a holder
 * whose lease has not expired; when it says the holder is gone, the lease is taken from it (see the header).
 */
export function tryAcquireLease(
  store: ClientStore,
  input: { key: string; holder: string; durationMs: number; nowMs: number; knownGeneration?: number; holderGone?: (holder: string) => boolean },
): LeaseAcquisition {
  const expiresAtMs = input.nowMs + input.durationMs;
  const taken = store
    .statement(
      `INSERT INTO lease (key, holder, expires_at_ms, generation) VALUES (@key, @holder, @expiresAtMs, 1)
       ON CONFLICT (key) DO UPDATE SET
         generation = CASE WHEN lease.holder = excluded.holder THEN lease.generation ELSE lease.generation + 1 END,
         holder = excluded.holder,
         expires_at_ms = excluded.expires_at_ms
       WHERE lease.holder = excluded.holder OR lease.expires_at_ms <= @nowMs
       RETURNING generation`,
    )
    .get({ key: input.key, holder: input.holder, expiresAtMs, nowMs: input.nowMs }) as
    | { generation: number }
    | undefined;
  if (taken !== undefined) {
    const generationChanged = input.knownGeneration === undefined || input.knownGeneration !== taken.generation;
    return { acquired: true, generation: taken.generation, generationChanged, expiresAtMs };
  }
  const current = readLease(store, input.key);
  if (current === undefined) throw new Error(`lease ${input.key}: upsert refused but no row exists`);
  if (input.holderGone?.(current.holder) === true) {
    const takenOver = takeFromGoneHolder(store, { key: input.key, holder: input.holder, expiresAtMs, gone: current });
    if (takenOver !== undefined) {
      return { acquired: true, generation: takenOver, generationChanged: true, expiresAtMs, takenFromGoneHolder: current.holder };
    }
    return tryAcquireLease(store, { ...input, holderGone: undefined });
  }
  return { acquired: false, holder: current.holder, expiresAtMs: current.expiresAtMs, generation: current.generation };
}

/** The new generation, or undefined when the lease changed since `gone` was read (someone else was faster). */
function takeFromGoneHolder(store: ClientStore, input: { key: string; holder: string; expiresAtMs: number; gone: LeaseRow }): number | undefined {
  const row = store
    .statement(
      `UPDATE lease SET holder = @holder, generation = generation + 1, expires_at_ms = @expiresAtMs
       WHERE key = @key AND holder = @goneHolder AND generation = @goneGeneration
       RETURNING generation`,
    )
    .get({ key: input.key, holder: input.holder, expiresAtMs: input.expiresAtMs, goneHolder: input.gone.holder, goneGeneration: input.gone.generation }) as
    | { generation: number }
    | undefined;
  return row?.generation;
}

/**
 * Extends the lease only if `holder` still holds it at `generation`. Returns false when the lease was lost:
 * unlike `tryAcquireLease`, renewing never takes a lease that someone else held in between.
 */
export function renewLease(
  store: ClientStore,
  input: { key: string; holder: string; generation: number; durationMs: number; nowMs: number },
): boolean {
  const info = store
    .statement(
      `UPDATE lease SET expires_at_ms = @expiresAtMs
       WHERE key = @key AND holder = @holder AND generation = @generation`,
    )
    .run({ key: input.key, holder: input.holder, generation: input.generation, expiresAtMs: input.nowMs + input.durationMs });
  return info.changes === 1;
}

/** Gives the lease up (expiry 0, holder kept). Returns false if `holder` no longer held it at `generation`. */
export function releaseLease(store: ClientStore, input: { key: string; holder: string; generation: number }): boolean {
  const info = store
    .statement('UPDATE lease SET expires_at_ms = 0 WHERE key = @key AND holder = @holder AND generation = @generation')
    .run(input);
  return info.changes === 1;
}

/** The fencing condition: does `holder` still hold `key` at `generation`? Expiry alone does not fence (see top). */
export function holdsLease(store: ClientStore, input: { key: string; holder: string; generation: number }): boolean {
  const row = store
    .statement('SELECT 1 AS held FROM lease WHERE key = @key AND holder = @holder AND generation = @generation')
    .get(input);
  return row !== undefined;
}

export function readLease(store: ClientStore, key: string): LeaseRow | undefined {
  const row = store.statement('SELECT key, holder, expires_at_ms, generation FROM lease WHERE key = ?').get(key) as
    | { key: string; holder: string; expires_at_ms: number; generation: number }
    | undefined;
  return row === undefined
    ? undefined
    : { key: row.key, holder: row.holder, expiresAtMs: row.expires_at_ms, generation: row.generation };
}

export function listLeases(store: ClientStore): LeaseRow[] {
  const rows = store.statement('SELECT key FROM lease ORDER BY key').all() as Array<{ key: string }>;
  return rows.flatMap((row) => readLease(store, row.key) ?? []);
}

/** Says (or refreshes) that `wanter` waits for lease `key`. */
export function markLeaseWanted(store: ClientStore, input: { key: string; wanter: string; nowMs: number }): void {
  store
    .statement(
      `INSERT INTO lease_wanted (key, wanter, wanted_at_ms) VALUES (@key, @wanter, @nowMs)
       ON CONFLICT (key, wanter) DO UPDATE SET wanted_at_ms = excluded.wanted_at_ms`,
    )
    .run(input);
}

export function clearLeaseWanted(store: ClientStore, input: { key: string; wanter: string }): void {
  store.statement('DELETE FROM lease_wanted WHERE key = @key AND wanter = @wanter').run(input);
}

/**
 * Other processes that want lease `key` and refreshed their request at or after `freshSinceMs`. This is the
 * cheap indexed read the holder's long poll repeats every few hundred milliseconds.
 */
export function listLeaseWanters(
  store: ClientStore,
  input: { key: string; except: string; freshSinceMs: number },
): Array<{ wanter: string; wantedAtMs: number }> {
  const rows = store
    .statement(
      `SELECT wanter, wanted_at_ms FROM lease_wanted
       WHERE key = @key AND wanter != @except AND wanted_at_ms >= @freshSinceMs ORDER BY wanted_at_ms`,
    )
    .all(input) as Array<{ wanter: string; wanted_at_ms: number }>;
  return rows.map((row) => ({ wanter: row.wanter, wantedAtMs: row.wanted_at_ms }));
}
