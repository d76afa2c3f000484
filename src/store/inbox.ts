/**
 * The inbox: an append-only log of received to-device events, numbered by a local `seq`.
 *
 * Runtime: node. Rows are only appended (by `commitBatch`, or by the legacy/naive strategies) and deleted by
 * compaction once every consumer that must see them has passed them (src/store/inbox-compaction.ts). `seq` comes
 * from AUTOINCREMENT, so it never goes back and is never reused, even after compaction. Per sending device, the server keeps arrival order
 * (DESIGN.md §3) and we append a batch in response order, so `seq` order is delivery order.
 *
 * An Olm-encrypted event is decrypted inside the commit that appends it (DESIGN.md §8): its row holds the
 * cleartext `type` and `content` and the `encryption` it arrived under, or, when it could not be decrypted, the
 * encrypted event itself and a `decryptionError` reason. Rows that were never encrypted have neither.
 */
import type { InboxEventInput, OlmDecryptionFailure, ToDeviceEncryptionInfo } from '../shared/olm-state';
import { ROOM_KEY_TAG_PREFIX } from '../shared/delivery-tag';
import { OLM_ROOM_KEY_EVENT_TYPE } from '../shared/olm-wire';
import type { Statement } from 'better-sqlite3';
import type { ClientStore } from './open-store';

export interface InboxRow {
  seq: number;
  type: string;
  sender: string;
  content: Record<string, unknown>;
  receivedAtMs: number;
  fetchedByProcess: string;
  fetchedByPid: number;
  /** The `since` of the request whose response carried this event (`null` for an initial sync). */
  batchSince: string | null;
  /** The `next_batch` of that response. */
  batchNextBatch: string;
  /** Present when the event arrived Olm-encrypted and could not be decrypted: why. */
  decryptionError?: OlmDecryptionFailure;
  /** Present when the event arrived Olm-encrypted and was decrypted. */
  encryption?: ToDeviceEncryptionInfo;
  /** Present on an undecryptable row decrypted again later: the `seq` of the row that holds the result. */
  decryptionResolvedBySeq?: number;
}

export interface BatchOrigin {
  receivedAtMs: number;
  process: string;
  pid: number;
  batchSince: string | null;
  batchNextBatch: string;
}

interface InboxDbRow {
  seq: number;
  type: string;
  sender: string;
  content: string;
  received_at_ms: number;
  fetched_by_process: string;
  fetched_by_pid: number;
  batch_since: string | null;
  batch_next_batch: string;
  decryption_error: string | null;
  encryption: string | null;
  decryption_resolved_by_seq: number | null;
}

export const INBOX_COLUMNS =
  'seq, type, sender, content, received_at_ms, fetched_by_process, fetched_by_pid, batch_since, batch_next_batch, ' +
  'decryption_error, encryption, decryption_resolved_by_seq';

/** Rows per multi-row insert: 5 parameters each and 5 shared, far below SQLite's limit of 32,766. */
const ROWS_PER_INSERT = 100;

/**
 * Appends `events` in order. Returns the first and last `seq`, or `null` for an empty batch. Call inside the
 * caller's transaction when the append must be atomic with other writes.
 *
 * The rows go in with multi-row inserts (SQLite inserts a `VALUES` list in its order, and AUTOINCREMENT gives
 * the rows of one statement consecutive `seq`s while the write lock is held), the batch's origin bound once per
 * statement as named parameters: this runs for every batch inside the commit's transaction, and one statement
 * per row with ten parameters each cost a third more than the whole append does now.
 */
export function appendToInbox(
  store: ClientStore,
  events: readonly InboxEventInput[],
  origin: BatchOrigin,
): { firstSeq: number; lastSeq: number } | null {
  let firstSeq: number | null = null;
  let lastSeq = 0;
  for (let start = 0; start < events.length; start += ROWS_PER_INSERT) {
    const end = Math.min(events.length, start + ROWS_PER_INSERT);
    const values: unknown[] = [];
    for (let i = start; i < end; i += 1) {
      const event = events[i] as InboxEventInput;
      values.push(
        event.type,
        event.sender,
        JSON.stringify(event.content),
        event.decryptionError ?? null,
        event.encryption === undefined ? null : JSON.stringify(event.encryption),
      );
    }
    const info = insertRows(store, end - start).run(values, origin);
    lastSeq = Number(info.lastInsertRowid);
    firstSeq ??= lastSeq - (end - start - 1);
  }
  return firstSeq === null ? null : { firstSeq, lastSeq };
}

/** `INSERT INTO inbox ... VALUES` for `rows` rows, cached by the store like every statement. */
function insertRows(store: ClientStore, rows: number): Statement {
  const tuple = '(?, ?, ?, ?, ?, @receivedAtMs, @process, @pid, @batchSince, @batchNextBatch)';
  return store.statement(
    `INSERT INTO inbox (type, sender, content, decryption_error, encryption, received_at_ms, fetched_by_process,
                        fetched_by_pid, batch_since, batch_next_batch)
     VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}`,
  );
}

export function listInbox(store: ClientStore, options: { afterSeq?: number; limit?: number } = {}): InboxRow[] {
  const rows = store
    .statement(`SELECT ${INBOX_COLUMNS} FROM inbox WHERE seq > ? ORDER BY seq LIMIT ?`)
    .all(options.afterSeq ?? 0, options.limit ?? 1000) as InboxDbRow[];
  return rows.map(toInboxRow);
}

/**
 * Rows whose content carries `tag` (oldest first), optionally only those one process fetched. The notifier uses
 * it to find the to-device data a pushed event needs, whichever process committed it.
 */
export function findInboxRowsByTag(store: ClientStore, tag: string, options: { fetchedBy?: string } = {}): InboxRow[] {
  const rows = store
    .statement(
      `SELECT ${INBOX_COLUMNS} FROM inbox
       WHERE json_extract(content, '$.tag') = ? AND (? IS NULL OR fetched_by_process = ?) ORDER BY seq LIMIT 100`,
    )
    .all(tag, options.fetchedBy ?? null, options.fetchedBy ?? null) as InboxDbRow[];
  return rows.map(toInboxRow);
}

/**
 * Whether a row with delivery tag `tag` (src/shared/delivery-tag.ts) is committed: a `tag` in the content, or,
 * for `room-key:<session_id>`, the decrypted `m.room_key` of that session (whose content has no tag).
 */
export function inboxHasDeliveryTag(store: ClientStore, tag: string): boolean {
  if (findInboxRowsByTag(store, tag).length > 0) return true;
  if (!tag.startsWith(ROOM_KEY_TAG_PREFIX)) return false;
  const sessionId = tag.slice(ROOM_KEY_TAG_PREFIX.length);
  return store.statement(`SELECT 1 FROM inbox WHERE type = ? AND json_extract(content, '$.session_id') = ? LIMIT 1`).get(OLM_ROOM_KEY_EVENT_TYPE, sessionId) !== undefined;
}

/** The newest `limit` rows, newest first (for the dashboard). */
export function latestInbox(store: ClientStore, limit: number): InboxRow[] {
  const rows = store.statement(`SELECT ${INBOX_COLUMNS} FROM inbox ORDER BY seq DESC LIMIT ?`).all(limit) as InboxDbRow[];
  return rows.map(toInboxRow);
}

export interface InboxStats {
  /** Rows in the inbox now. */
  count: number;
  minSeq: number | null;
  maxSeq: number | null;
  /** The highest `seq` ever appended (0 for none), which compaction does not lower: "has row N arrived?". */
  lastSeq: number;
}

export function inboxStats(store: ClientStore): InboxStats {
  const row = store
    .statement(
      `SELECT count(*) AS count, min(seq) AS minSeq, max(seq) AS maxSeq,
              coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'inbox'), 0) AS lastSeq
       FROM inbox`,
    )
    .get() as InboxStats;
  return row;
}

/**
 * The seq of the last row ever appended (0 for none): one read of `sqlite_sequence`, cheap enough for a process
 * to poll to notice that another process appended rows.
 */
export function lastInboxSeq(store: ClientStore): number {
  const row = store.statement("SELECT seq FROM sqlite_sequence WHERE name = 'inbox'").get() as { seq: number } | undefined;
  return row?.seq ?? 0;
}

export function toInboxRow(row: InboxDbRow): InboxRow {
  const inboxRow: InboxRow = {
    seq: row.seq,
    type: row.type,
    sender: row.sender,
    content: parseContent(row.content),
    receivedAtMs: row.received_at_ms,
    fetchedByProcess: row.fetched_by_process,
    fetchedByPid: row.fetched_by_pid,
    batchSince: row.batch_since,
    batchNextBatch: row.batch_next_batch,
  };
  if (row.decryption_error !== null) inboxRow.decryptionError = row.decryption_error as OlmDecryptionFailure;
  if (row.encryption !== null) inboxRow.encryption = JSON.parse(row.encryption) as ToDeviceEncryptionInfo;
  if (row.decryption_resolved_by_seq !== null) inboxRow.decryptionResolvedBySeq = row.decryption_resolved_by_seq;
  return inboxRow;
}

/**
 * Rows still encrypted because of `reason` (oldest first), to decrypt again once what they lacked is there (a
 * sender device learnt from `/keys/query` for `unknown-device`). The event is rebuilt as it arrived.
 */
export function undecryptedInbox(store: ClientStore, reason: OlmDecryptionFailure, limit = 100): Array<{ seq: number; event: InboxEventInput }> {
  const rows = store
    .statement(`SELECT ${INBOX_COLUMNS} FROM inbox WHERE decryption_error = ? AND decryption_resolved_by_seq IS NULL ORDER BY seq LIMIT ?`)
    .all(reason, limit) as InboxDbRow[];
  return rows.map((row) => ({ seq: row.seq, event: { type: row.type, sender: row.sender, content: parseContent(row.content) } }));
}

/**
 * Marks an undecrypted row as settled by a later row (`resolvedBySeq`, which holds the retry's result), so the
 * next retry skips it. Call in the transaction that appends the later row.
 */
export function markUndecryptedResolved(store: ClientStore, seq: number, resolvedBySeq: number): void {
  store
    .statement('UPDATE inbox SET decryption_resolved_by_seq = ? WHERE seq = ? AND decryption_error IS NOT NULL')
    .run(resolvedBySeq, seq);
}

/**
 * Appends the result of decrypting the undecrypted row `seq` again (`row`, decrypted or with a new reason) and
 * marks the old row settled by it, in the caller's transaction. The new row keeps the old one's batch origin and
 * says which process retried it. Returns the new row's `seq`, or undefined when `seq` is gone or already settled.
 */
export function appendRetriedDecryption(
  store: ClientStore,
  seq: number,
  row: InboxEventInput,
  retriedBy: { process: string; pid: number; nowMs: number },
): number | undefined {
  const original = store
    .statement('SELECT batch_since, batch_next_batch FROM inbox WHERE seq = ? AND decryption_error IS NOT NULL AND decryption_resolved_by_seq IS NULL')
    .get(seq) as { batch_since: string | null; batch_next_batch: string } | undefined;
  if (original === undefined) return undefined;
  const appended = appendToInbox(store, [row], {
    receivedAtMs: retriedBy.nowMs,
    process: retriedBy.process,
    pid: retriedBy.pid,
    batchSince: original.batch_since,
    batchNextBatch: original.batch_next_batch,
  });
  if (appended === null) return undefined;
  markUndecryptedResolved(store, seq, appended.lastSeq);
  return appended.lastSeq;
}

export type { InboxDbRow };

function parseContent(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`inbox content is not a JSON object: ${text.slice(0, 80)}`);
  }
  return value as Record<string, unknown>;
}
