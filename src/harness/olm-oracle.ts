/**
 * The Olm oracle: what the device's handling of its Olm state cost in a run, per strategy. Each figure is taken
 * where it can be measured without guessing:
 * - Failures by reason: the inbox rows that stayed `m.room.encrypted` with a `decryption_error`. Compaction
 *   deletes rows every consumer has passed, so `OlmFailureWatch` reads new failed rows on every checker pass
 *   during the run (and once more at the end), the way the checker reads the event log. A failed Olm message is
 *   final unless it was decrypted at some point: the decrypting transaction writes the message's hash
 *   (`olm_message_hash_runs`, never pruned during a run), so a row that waited for `/keys/query` (`unknown-device`)
 *   and was decrypted after it is not a failure, as the app treats it. A failed row whose message another row
 *   decrypted is a redelivered copy whose message key was already spent (`replayed` most often); those are
 *   counted apart (`undecryptableRedeliveries`): the first copy's key may have been kept, and whether it was is
 *   what the delivery figures (lost room-key tags) say. Several rows of one message (a retry after `/keys/query`
 *   that failed for another reason, two legacy processes failing the same message) count once, under the reason
 *   of the latest row.
 * - Wedged sessions: the store's `olm_wedged` records, one per sender device whose messages failed with a session
 *   error (no session, bad MAC, one-time key gone) and were not redeliveries.
 * - One-time keys uploaded twice: the device's count of `/keys/upload` requests the homeserver refused with 400
 *   "One time key ... already exists" (src/device/olm-device.ts).
 * - One-time keys lost: final `one-time-key-gone` failures: a pre-key message made with a one-time key the
 *   homeserver handed out and whose private half the device no longer holds.
 * - Recoveries: the device's count of new sessions with an `m.dummy` sent to a wedged device.
 * - Unable to decrypt: sent room messages still undecryptable in the main timeline whose room key travelled in an
 *   Olm message that is a final failure; the traffic records the hash of every Olm message each key share sent.
 *
 * Runtime: node. Read-only on the shared store, through the harness's own connection (WAL: never waits for a
 * writer).
 */
import { messageHash } from '../crypto/olm-decrypt';
import { OLM_DECRYPTION_FAILURES, type OlmDecryptionFailure } from '../shared/olm-state';
import { isObject } from '../shared/olm-wire';
import { readOlmAccount } from '../store/olm-account';
import { isOlmMessageKnown, listOlmWedged } from '../store/olm-bookkeeping';
import { readOlmStats } from '../store/olm-stats';
import type { ClientStore } from '../store/open-store';
import { timelineEntriesFor } from '../store/timeline';
import type { OlmFigures } from './report-types';
import type { SentRoomEvent } from './traffic';

const pageRows = 500;
const maxPagesPerObserve = 40;

interface FailedRow {
  seq: number;
  reason: OlmDecryptionFailure;
  content: Record<string, unknown>;
}

/** Keeps every Olm-failed inbox row it has seen, read incrementally by `seq` (appends are in `seq` order). */
export class OlmFailureWatch {
  private lastSeq = 0;
  private readonly rows: FailedRow[] = [];

  constructor(private readonly store: ClientStore) {}

  /** Reads the failed rows appended since the last call. */
  observe(): void {
    for (let page = 0; page < maxPagesPerObserve; page += 1) {
      const rows = this.store
        .statement('SELECT seq, decryption_error, content FROM inbox WHERE seq > ? AND decryption_error IS NOT NULL ORDER BY seq LIMIT ?')
        .all(this.lastSeq, pageRows) as Array<{ seq: number; decryption_error: string; content: string }>;
      for (const row of rows) {
        this.rows.push({ seq: row.seq, reason: row.decryption_error as OlmDecryptionFailure, content: JSON.parse(row.content) as Record<string, unknown> });
        this.lastSeq = row.seq;
      }
      if (rows.length < pageRows) return;
    }
  }

  get failedRows(): readonly FailedRow[] {
    return this.rows;
  }
}

/** The hash olm-decrypt.ts keeps for the Olm message addressed to `curve25519`, or undefined when there is none. */
export function olmMessageHashOf(content: Record<string, unknown>, curve25519: string | undefined): { senderKey: string; hash: string } | undefined {
  const senderKey = content.sender_key;
  if (curve25519 === undefined || typeof senderKey !== 'string' || !isObject(content.ciphertext)) return undefined;
  const mine = content.ciphertext[curve25519];
  if (!isObject(mine) || (mine.type !== 0 && mine.type !== 1) || typeof mine.body !== 'string') return undefined;
  return { senderKey, hash: messageHash(senderKey, mine.type, mine.body) };
}

/** Every hash of the Olm messages in a to-device content as a sender sent it (one per recipient key). */
export function sentOlmMessageHashes(content: Record<string, unknown>): string[] {
  const senderKey = content.sender_key;
  if (typeof senderKey !== 'string' || !isObject(content.ciphertext)) return [];
  return Object.keys(content.ciphertext)
    .map((curve25519) => olmMessageHashOf(content, curve25519)?.hash)
    .filter((hash): hash is string => hash !== undefined);
}

export function zeroOlmFailures(): Record<OlmDecryptionFailure, number> {
  return Object.fromEntries(OLM_DECRYPTION_FAILURES.map((reason) => [reason, 0])) as Record<OlmDecryptionFailure, number>;
}

/** The Olm figures after a run: call once the liveness phase converged and the timeline had its time to page. */
export function judgeOlm(store: ClientStore, watch: OlmFailureWatch, sent: readonly SentRoomEvent[]): OlmFigures {
  watch.observe();
  const curve25519 = readOlmAccount(store)?.curve25519;
  const failures = zeroOlmFailures();
  const redeliveryFailures = zeroOlmFailures();
  const finalHashes = new Set<string>();
  // The latest row of each message decides its reason; rows without an Olm message for us stand alone.
  const latest = new Map<string, FailedRow & { known: boolean }>();
  for (const row of watch.failedRows) {
    const message = olmMessageHashOf(row.content, curve25519);
    const key = message?.hash ?? `row:${row.seq}`;
    const known = message !== undefined && isOlmMessageKnown(store, message.senderKey, message.hash);
    latest.set(key, { ...row, known });
  }
  for (const [key, row] of latest) {
    if (row.known) {
      if (row.reason !== 'unknown-device') redeliveryFailures[row.reason] += 1;
      continue;
    }
    failures[row.reason] += 1;
    finalHashes.add(key);
  }
  const stats = readOlmStats(store);
  return {
    decrypted: stats.decrypted,
    decryptedAfterQuery: stats.decryptedAfterQuery,
    failures,
    failed: Object.values(failures).reduce((sum, n) => sum + n, 0),
    undecryptableRedeliveries: Object.values(redeliveryFailures).reduce((sum, n) => sum + n, 0),
    redeliveryFailures,
    wedgedSessions: listOlmWedged(store).length,
    oneTimeKeysUploadedTwice: stats.oneTimeKeyUploadsRefused,
    oneTimeKeysLost: failures['one-time-key-gone'],
    recoveries: stats.recoveries,
    unableToDecrypt: olmCausedUtd(store, sent, finalHashes),
  };
}

/** Sent room messages the main timeline could not decrypt whose key's Olm message finally failed. */
function olmCausedUtd(store: ClientStore, sent: readonly SentRoomEvent[], finalHashes: ReadonlySet<string>): number {
  if (finalHashes.size === 0) return 0;
  const entries = timelineEntriesFor(store, sent.map((event) => event.eventId));
  return sent.filter((event) => {
    const entry = entries.get(event.eventId);
    return entry !== undefined && entry.decryptedAtMs === null && event.keyMessageHashes.some((hash) => finalHashes.has(hash));
  }).length;
}

/** The Olm harms a safe strategy must not show, as violation sentences (empty when there is none). */
export function olmViolations(olm: OlmFigures): string[] {
  const violations: string[] = [];
  const reasons = Object.entries(olm.failures)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`);
  if (olm.failed > 0) violations.push(`${olm.failed} Olm message(s) never decrypted (${reasons.join(', ')})`);
  if (olm.undecryptableRedeliveries > 0) violations.push(`${olm.undecryptableRedeliveries} redelivered Olm message(s) could not be decrypted again (their message key was spent)`);
  if (olm.wedgedSessions > 0) violations.push(`${olm.wedgedSessions} wedged Olm session(s)`);
  if (olm.oneTimeKeysUploadedTwice > 0) violations.push(`${olm.oneTimeKeysUploadedTwice} key upload(s) refused: a one-time key ID uploaded twice with different keys`);
  if (olm.recoveries > 0) violations.push(`${olm.recoveries} wedged-session recovery message(s) (m.dummy) sent`);
  if (olm.unableToDecrypt > 0) violations.push(`${olm.unableToDecrypt} room message(s) undecryptable because their key's Olm message failed`);
  return violations;
}
