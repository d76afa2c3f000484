/**
 * Megolm room keys received by to-device, in the shared database (migration 0003).
 *
 * Runtime: node. `storeRoomKey` is meant for a `consume` handler: the key becomes visible in the same transaction
 * that moves the consumer's cursor over its inbox row, so a crash either keeps both or neither, and the row is
 * handled again after a restart. It ignores a session it already holds for that consumer, so a duplicated
 * delivery stores nothing new. Readers choose whose keys they may see: all of them (explicit strategies: whichever
 * process committed a key, every process can use it) or only their own consumer's (`legacy`, where the
 * notification process kept its own crypto store).
 */
import type { Database } from 'better-sqlite3';
import { roomKeyFromOlmEvent } from '../shared/olm-room-key';
import type { ToDeviceEncryptionInfo } from '../shared/olm-state';
import { OLM_ROOM_KEY_EVENT_TYPE } from '../shared/olm-wire';
import { parseRoomKeyContent, ROOM_KEY_EVENT_TYPE, type ExportedRoomKey } from '../shared/room-key-protocol';
import type { InboxRow } from './inbox';
import type { ClientStore } from './open-store';
import { sqlBounds, type TimeWindow } from './time-window';

/** Stores `key` for `consumer`; call it inside the consume handler's transaction. True when it was new. */
export function storeRoomKey(db: Database, consumer: string, row: InboxRow, key: ExportedRoomKey, nowMs: number): boolean {
  const info = db
    .prepare(
      `INSERT INTO room_keys (session_id, stored_by, room_id, room_key, inbox_seq, stored_at_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id, stored_by) DO NOTHING`,
    )
    .run(key.session_id, consumer, key.room_id, JSON.stringify(key), row.seq, nowMs);
  return info.changes === 1;
}

export interface RoomKeyScope {
  /** Only keys this consumer stored; undefined for every consumer's. */
  storedBy?: string;
}

/**
 * The visible keys stored after `afterRowid` (0 for all), in storage order, and the rowid to continue from. A
 * session stored by several consumers comes once per consumer; importing is idempotent, so callers need not care.
 */
export function roomKeysAfter(store: ClientStore, afterRowid: number, scope: RoomKeyScope = {}): { keys: ExportedRoomKey[]; lastRowid: number } {
  const rows = (
    scope.storedBy === undefined
      ? store.statement('SELECT rowid, room_key FROM room_keys WHERE rowid > ? ORDER BY rowid').all(afterRowid)
      : store.statement('SELECT rowid, room_key FROM room_keys WHERE rowid > ? AND stored_by = ? ORDER BY rowid').all(afterRowid, scope.storedBy)
  ) as Array<{ rowid: number; room_key: string }>;
  return { keys: rows.map((row) => JSON.parse(row.room_key) as ExportedRoomKey), lastRowid: rows.at(-1)?.rowid ?? afterRowid };
}

/** The key of one session, if this scope holds it. */
export function roomKeyForSession(store: ClientStore, sessionId: string, scope: RoomKeyScope = {}): ExportedRoomKey | undefined {
  const row = (
    scope.storedBy === undefined
      ? store.statement('SELECT room_key FROM room_keys WHERE session_id = ? LIMIT 1').get(sessionId)
      : store.statement('SELECT room_key FROM room_keys WHERE session_id = ? AND stored_by = ?').get(sessionId, scope.storedBy)
  ) as { room_key: string } | undefined;
  return row === undefined ? undefined : (JSON.parse(row.room_key) as ExportedRoomKey);
}

/**
 * The key of one session from a key-sharing row that is committed in the inbox but not handled yet (a reader
 * whose consume pass could not take the write lock still has it durably). `fetchedBy` limits it to rows one
 * process fetched, for `legacy`.
 */
export function roomKeyInInbox(store: ClientStore, sessionId: string, options: { fetchedBy?: string } = {}): ExportedRoomKey | undefined {
  return plaintextRoomKeyInInbox(store, sessionId, options) ?? olmRoomKeyInInbox(store, sessionId, options);
}

/** A decrypted `m.room_key` row for the session (only rows decrypted at commit carry `encryption`). */
function olmRoomKeyInInbox(store: ClientStore, sessionId: string, options: { fetchedBy?: string }): ExportedRoomKey | undefined {
  const row = store
    .statement(
      `SELECT content, encryption FROM inbox WHERE type = ? AND encryption IS NOT NULL AND json_extract(content, '$.session_id') = ?
       AND (? IS NULL OR fetched_by_process = ?) ORDER BY seq LIMIT 1`,
    )
    .get(OLM_ROOM_KEY_EVENT_TYPE, sessionId, options.fetchedBy ?? null, options.fetchedBy ?? null) as { content: string; encryption: string } | undefined;
  if (row === undefined) return undefined;
  const key = roomKeyFromOlmEvent(JSON.parse(row.content) as Record<string, unknown>, JSON.parse(row.encryption) as ToDeviceEncryptionInfo);
  return key.ok ? key.value : undefined;
}

function plaintextRoomKeyInInbox(store: ClientStore, sessionId: string, options: { fetchedBy?: string }): ExportedRoomKey | undefined {
  const rows = store
    .statement(
      `SELECT content FROM inbox WHERE type = ? AND json_extract(content, '$.room_key.session_id') = ?
       AND (? IS NULL OR fetched_by_process = ?) ORDER BY seq LIMIT 1`,
    )
    .all(ROOM_KEY_EVENT_TYPE, sessionId, options.fetchedBy ?? null, options.fetchedBy ?? null) as Array<{ content: string }>;
  const row = rows[0];
  if (row === undefined) return undefined;
  const parsed = parseRoomKeyContent(JSON.parse(row.content) as Record<string, unknown>);
  return parsed.ok ? parsed.value : undefined;
}

/** Distinct Megolm sessions known to any process of the device. */
/** Megolm sessions any consumer holds; with `window`, those whose key was first stored inside it. */
export function roomKeyCount(store: ClientStore, window: TimeWindow = {}): number {
  return (
    store
      .statement(
        `SELECT count(*) AS n FROM (SELECT min(stored_at_ms) AS first_ms FROM room_keys GROUP BY session_id)
         WHERE first_ms >= @fromMs AND first_ms < @beforeMs`,
      )
      .get(sqlBounds(window)) as { n: number }
  ).n;
}
