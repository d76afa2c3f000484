/**
 * Olm sessions with other devices (migration 0004), keyed by the sender's curve25519 key and the session ID.
 *
 * Runtime: node. The pickle is opaque (encrypted with the pickle key). The commit that decrypts a batch reads the
 * sessions of each sender key and writes back the ones it advanced, in its own transaction; the legacy strategies
 * replace the whole table with their in-memory copy (`replaceAllOlmSessions`), which is exactly the unsafe habit
 * they exist to show.
 */
import type { OlmSessionRecord } from '../shared/olm-state';
import type { ClientStore } from './open-store';

interface SessionDbRow {
  sender_key: string;
  session_id: string;
  pickle: string;
  created_at_ms: number;
  last_used_at_ms: number;
  messages_received: number;
  messages_sent: number;
}

const COLUMNS = 'sender_key, session_id, pickle, created_at_ms, last_used_at_ms, messages_received, messages_sent';

/** The sessions with `senderKey`, most recently used first (the one a peer most likely encrypted with). */
export function olmSessionsFor(store: ClientStore, senderKey: string): OlmSessionRecord[] {
  const rows = store
    .statement(`SELECT ${COLUMNS} FROM olm_sessions WHERE sender_key = ? ORDER BY last_used_at_ms DESC, session_id`)
    .all(senderKey) as SessionDbRow[];
  return rows.map(toRecord);
}

export function allOlmSessions(store: ClientStore): OlmSessionRecord[] {
  return (store.statement(`SELECT ${COLUMNS} FROM olm_sessions ORDER BY sender_key, session_id`).all() as SessionDbRow[]).map(toRecord);
}

export function saveOlmSession(store: ClientStore, record: OlmSessionRecord): void {
  store
    .statement(
      `INSERT INTO olm_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sender_key, session_id) DO UPDATE SET pickle = excluded.pickle, last_used_at_ms = excluded.last_used_at_ms,
         messages_received = excluded.messages_received, messages_sent = excluded.messages_sent`,
    )
    .run(record.senderKey, record.sessionId, record.pickle, record.createdAtMs, record.lastUsedAtMs, record.messagesReceived, record.messagesSent);
}

/** Replaces every session with `records` (the legacy write-back of a process's whole copy). */
export function replaceAllOlmSessions(store: ClientStore, records: readonly OlmSessionRecord[]): void {
  store.immediate(() => {
    store.statement('DELETE FROM olm_sessions').run();
    for (const record of records) saveOlmSession(store, record);
  });
}

function toRecord(row: SessionDbRow): OlmSessionRecord {
  return {
    senderKey: row.sender_key,
    sessionId: row.session_id,
    pickle: row.pickle,
    createdAtMs: row.created_at_ms,
    lastUsedAtMs: row.last_used_at_ms,
    messagesReceived: row.messages_received,
    messagesSent: row.messages_sent,
  };
}
