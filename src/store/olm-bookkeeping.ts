/**
 * What the Olm code counts and remembers besides keys (migration 0004): hashes of decrypted messages, outcome
 * counters, and the sender devices whose sessions broke.
 *
 * Runtime: node. All of it is written inside the transaction that decrypted, so a refused commit forgets it
 * with the rest. Message hashes let a redelivered message be told apart from a broken session (matrix-rust-sdk
 * does the same): `pruneOlmMessageHashes` bounds them by age. They are written as runs (migration 0007), one row
 * per sender key and decrypting commit, appended at the end of the table; rows of the older one-row-per-message
 * table are still read.
 */
import type { OlmWedgedRecord } from '../shared/olm-state';
import type { ClientStore } from './open-store';

const DIGEST_BYTES = 32;
const NOT_A_DIGEST = 'an Olm message hash is the base64 of a 32-byte SHA-256 digest';

/** The 32 bytes of a message hash (`messageHash` in src/crypto/olm-decrypt.ts: base64 of a SHA-256 digest). */
function digestOf(messageHash: string): Buffer {
  const digest = Buffer.from(messageHash, 'base64');
  if (digest.length !== DIGEST_BYTES) throw new Error(NOT_A_DIGEST);
  return digest;
}

export function isOlmMessageKnown(store: ClientStore, senderKey: string, messageHash: string): boolean {
  if (store.statement('SELECT 1 FROM olm_message_hashes WHERE sender_key = ? AND message_hash = ?').get(senderKey, messageHash) !== undefined) {
    return true;
  }
  const digest = digestOf(messageHash);
  const runs = store.statement('SELECT hashes FROM olm_message_hash_runs WHERE sender_key = ?').iterate(senderKey) as IterableIterator<{ hashes: Buffer }>;
  for (const { hashes } of runs) {
    for (let offset = 0; offset < hashes.length; offset += DIGEST_BYTES) {
      if (digest.compare(hashes, offset, offset + DIGEST_BYTES) === 0) {
        runs.return?.();
        return true;
      }
    }
  }
  return false;
}

/**
 * Remembers the hashes of messages of `senderKey` decrypted together, as one run (one row). The digests are
 * decoded straight into the run's buffer (a batch writes a hundred of them), each checked to be the base64 of 32 bytes.
 */
export function rememberOlmMessages(store: ClientStore, senderKey: string, messageHashes: readonly string[], nowMs: number): void {
  if (messageHashes.length === 0) return;
  const run = Buffer.allocUnsafe(messageHashes.length * DIGEST_BYTES);
  messageHashes.forEach((messageHash, index) => {
    if (Buffer.byteLength(messageHash, 'base64') !== DIGEST_BYTES || run.write(messageHash, index * DIGEST_BYTES, DIGEST_BYTES, 'base64') !== DIGEST_BYTES) {
      throw new Error(NOT_A_DIGEST);
    }
  });
  store.statement('INSERT INTO olm_message_hash_runs (sender_key, decrypted_at_ms, hashes) VALUES (?, ?, ?)').run(senderKey, nowMs, run);
}

export function rememberOlmMessage(store: ClientStore, senderKey: string, messageHash: string, nowMs: number): void {
  rememberOlmMessages(store, senderKey, [messageHash], nowMs);
}

/** Deletes hashes of messages decrypted before `beforeMs` (a run goes whole); returns how many. */
export function pruneOlmMessageHashes(store: ClientStore, beforeMs: number): number {
  const legacy = store.statement('DELETE FROM olm_message_hashes WHERE decrypted_at_ms < ?').run(beforeMs).changes;
  const runs = store
    .statement('DELETE FROM olm_message_hash_runs WHERE decrypted_at_ms < ? RETURNING length(hashes) AS bytes')
    .all(beforeMs) as Array<{ bytes: number }>;
  return legacy + runs.reduce((sum, run) => sum + run.bytes / DIGEST_BYTES, 0);
}

export function countOlmOutcome(store: ClientStore, outcome: string, nowMs: number): void {
  store
    .statement(
      `INSERT INTO olm_outcomes (outcome, count, last_at_ms) VALUES (?, 1, ?)
       ON CONFLICT (outcome) DO UPDATE SET count = count + 1, last_at_ms = excluded.last_at_ms`,
    )
    .run(outcome, nowMs);
}

/** Adds `count` to the counter of `outcome` (for tallies such as one-time keys uploaded). */
export function addOlmOutcome(store: ClientStore, outcome: string, count: number, nowMs: number): void {
  if (count <= 0) return;
  store
    .statement(
      `INSERT INTO olm_outcomes (outcome, count, last_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (outcome) DO UPDATE SET count = count + excluded.count, last_at_ms = excluded.last_at_ms`,
    )
    .run(outcome, count, nowMs);
}

/** Every counter, by outcome (`decrypted`, each failure reason, `dummy-sent`, …). */
export function olmOutcomeCounts(store: ClientStore): Record<string, number> {
  const rows = store.statement('SELECT outcome, count FROM olm_outcomes ORDER BY outcome').all() as Array<{ outcome: string; count: number }>;
  return Object.fromEntries(rows.map((row) => [row.outcome, row.count]));
}

interface WedgedDbRow {
  sender_key: string;
  user_id: string;
  device_id: string;
  reason: string;
  failures: number;
  first_failed_at_ms: number;
  last_failed_at_ms: number;
  last_dummy_sent_at_ms: number | null;
  dummies_sent: number;
}

export function readOlmWedged(store: ClientStore, senderKey: string): OlmWedgedRecord | undefined {
  const row = store.statement('SELECT * FROM olm_wedged WHERE sender_key = ?').get(senderKey) as WedgedDbRow | undefined;
  return row === undefined ? undefined : toWedged(row);
}

export function listOlmWedged(store: ClientStore): OlmWedgedRecord[] {
  return (store.statement('SELECT * FROM olm_wedged ORDER BY last_failed_at_ms').all() as WedgedDbRow[]).map(toWedged);
}

export function saveOlmWedged(store: ClientStore, record: OlmWedgedRecord): void {
  store
    .statement(
      `INSERT INTO olm_wedged (sender_key, user_id, device_id, reason, failures, first_failed_at_ms, last_failed_at_ms,
         last_dummy_sent_at_ms, dummies_sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sender_key) DO UPDATE SET user_id = excluded.user_id, device_id = excluded.device_id,
         reason = excluded.reason, failures = excluded.failures, first_failed_at_ms = excluded.first_failed_at_ms,
         last_failed_at_ms = excluded.last_failed_at_ms, last_dummy_sent_at_ms = excluded.last_dummy_sent_at_ms,
         dummies_sent = excluded.dummies_sent`,
    )
    .run(
      record.senderKey,
      record.userId,
      record.deviceId,
      record.reason,
      record.failures,
      record.firstFailedAtMs,
      record.lastFailedAtMs,
      record.lastDummySentAtMs,
      record.dummiesSent,
    );
}

function toWedged(row: WedgedDbRow): OlmWedgedRecord {
  return {
    senderKey: row.sender_key,
    userId: row.user_id,
    deviceId: row.device_id,
    reason: row.reason,
    failures: row.failures,
    firstFailedAtMs: row.first_failed_at_ms,
    lastFailedAtMs: row.last_failed_at_ms,
    lastDummySentAtMs: row.last_dummy_sent_at_ms,
    dummiesSent: row.dummies_sent,
  };
}
