/**
 * Per-process classic `/v3/sync` tokens for the `legacy` strategy (DESIGN.md §5).
 *
 * Runtime: node. Real legacy clients kept one sync token per process (the app and its notification extension
 * each had their own) and to-device messages were acknowledged implicitly by advancing it. Each process here
 * stores its own `next_batch` under its process name and writes what it received into the inbox, tagged with
 * its process, in the same transaction. The transaction does not make legacy safe: the other process's
 * token still acknowledges messages this one never saw (F1), which is the point of keeping it.
 */
import type { ToDeviceEvent } from '../shared/wire';
import { appendToInbox } from './inbox';
import type { ClientStore } from './open-store';

export function readLegacyToken(store: ClientStore, process: string): string | null {
  const row = store.statement('SELECT next_batch FROM legacy_sync_token WHERE process = ?').get(process) as
    | { next_batch: string | null }
    | undefined;
  return row?.next_batch ?? null;
}

export function listLegacyTokens(store: ClientStore): Array<{ process: string; nextBatch: string | null; updatedAtMs: number }> {
  const rows = store.statement('SELECT process, next_batch, updated_at_ms FROM legacy_sync_token ORDER BY process').all() as Array<{
    process: string;
    next_batch: string | null;
    updated_at_ms: number;
  }>;
  return rows.map((row) => ({ process: row.process, nextBatch: row.next_batch, updatedAtMs: row.updated_at_ms }));
}

/** Stores this process's new classic sync token and its events together. */
export function commitLegacyBatch(
  store: ClientStore,
  input: { process: string; pid: number; since: string | null; nextBatch: string; events: readonly ToDeviceEvent[]; nowMs: number },
): { firstSeq: number; lastSeq: number } | null {
  return store.immediate(() => {
    store
      .statement(
        `INSERT INTO legacy_sync_token (process, next_batch, updated_at_ms) VALUES (?, ?, ?)
         ON CONFLICT (process) DO UPDATE SET next_batch = excluded.next_batch, updated_at_ms = excluded.updated_at_ms`,
      )
      .run(input.process, input.nextBatch, input.nowMs);
    return appendToInbox(store, input.events, {
      receivedAtMs: input.nowMs,
      process: input.process,
      pid: input.pid,
      batchSince: input.since,
      batchNextBatch: input.nextBatch,
    });
  });
}
