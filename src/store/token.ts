/**
 * The shared MSC3885 to-device token: the `since` this device sends next.
 *
 * Runtime: node. MSC3885: "The client MUST persist the `next_batch` value to persistent storage between requests
 * in case the client is killed by the OS." Both client processes read it from here before every request and never
 * from a cached copy (DESIGN.md §4.2, F2). It is only written by `commitBatch` (compare-and-set, in the same
 * transaction as the events) or, for the deliberately broken `explicit-naive` strategy, by `naive-commit.ts`.
 * `version` grows on every write (enforced by a trigger), so the token history is observable even when the server
 * repeats a token string.
 */
import type { ClientStore } from './open-store';

export interface TokenState {
  /** The MSC3885 `since` to send next; `null` before the first batch was committed (initial sync, F13). */
  since: string | null;
  version: number;
  updatedAtMs: number;
  updatedByProcess: string | null;
}

interface TokenRow {
  since: string | null;
  version: number;
  updated_at_ms: number;
  updated_by_process: string | null;
}

export function readToken(store: ClientStore): TokenState {
  const row = store
    .statement('SELECT since, version, updated_at_ms, updated_by_process FROM to_device_token WHERE id = 1')
    .get() as TokenRow | undefined;
  if (row === undefined) throw new Error('to_device_token row is missing; the schema is damaged');
  return { since: row.since, version: row.version, updatedAtMs: row.updated_at_ms, updatedByProcess: row.updated_by_process };
}

/**
 * Sets the token to `nextBatch` only if it still equals `expectedSince` (`IS`, so `null` compares equal to
 * `null`). Returns the token's new `version` when it was swapped, else undefined. Call it inside the caller's
 * transaction: the swap is only meaningful together with the writes that justify it.
 */
export function compareAndSetToken(
  store: ClientStore,
  input: { expectedSince: string | null; nextBatch: string; nowMs: number; process: string },
): number | undefined {
  const row = store
    .statement(
      `UPDATE to_device_token
         SET since = @nextBatch, version = version + 1, updated_at_ms = @nowMs, updated_by_process = @process
       WHERE id = 1 AND since IS @expectedSince
       RETURNING version`,
    )
    .get(input) as { version: number } | undefined;
  return row?.version;
}

/** Writes the token whatever it was. Only the `explicit-naive` strategy uses this, to reproduce F3/F4. */
export function overwriteToken(store: ClientStore, input: { nextBatch: string; nowMs: number; process: string }): void {
  store
    .statement(
      `UPDATE to_device_token
         SET since = @nextBatch, version = version + 1, updated_at_ms = @nowMs, updated_by_process = @process
       WHERE id = 1`,
    )
    .run(input);
}
