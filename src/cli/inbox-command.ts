/**
 * `todevice inbox`: prints what a data directory's store holds: account, to-device token, lease, cursors, what
 * each consumer handled, the newest inbox rows, and the store's size with what compaction and retention removed,
 * as text or as JSON (`--json`, shape documented in the README).
 *
 * Runtime: node. Read-only: it opens the store read-only (creating, migrating and changing nothing), reads one
 * consistent snapshot in one read transaction, and closes. A missing, empty, foreign, damaged or differently
 * versioned file gets the store's own one-line error and is left untouched. Its cost does not grow with the
 * store's age: rows are the newest `--limit`, everything else is counts computed in SQL. The exactly-once
 * summary is each consumer's `handled` totals, which outlive the inbox's compaction and cover every message,
 * whatever `--limit` prints. Secrets never reach the output: row contents go through `redactSecrets` (a room
 * key's `session_key` is `"<redacted>"`, sealed or not), and the Olm figures are public keys and counters.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { redactSecrets } from '../shared/redact-secrets';
import type { InboxRow } from '../store/inbox';
import type { OlmStats } from '../store/olm-stats';
import { describeLimit, RETENTION_KEYS } from '../store/retention-policy';
import { DEFAULT_SNAPSHOT_INBOX_ROWS, readStoreSnapshot, type StoreSnapshot } from '../store/snapshot';
import type { StorageStats } from '../store/storage-stats';
import { StoreOpenError } from '../store/store-errors';
import { parsePositiveInt, runCommand, UsageError } from './cli-errors';
import { CLIENT_DB_FILE } from '../shared/data-layout';

interface InboxOptions {
  data: string;
  json?: boolean;
  limit?: number;
}

export function registerInboxCommand(program: Command): void {
  program
    .command('inbox')
    .description("print a data directory's to-device token, lease, cursors and inbox")
    .requiredOption('--data <dir>', 'data directory of a main process (todevice headless --data, or the app)')
    .option('--json', 'print one JSON object (shape in the README)')
    .option('--limit <n>', 'print at most this many inbox rows (the newest)', parsePositiveInt('limit'), DEFAULT_SNAPSHOT_INBOX_ROWS)
    .action((options: InboxOptions) => runCommand(() => printInbox(options)));
}

async function printInbox(options: InboxOptions): Promise<void> {
  const { readStoreReadOnly } = await import('../store/open-store');
  const dbPath = path.join(options.data, CLIENT_DB_FILE);
  let snapshot: StoreSnapshot;
  try {
    snapshot = readStoreReadOnly(dbPath, (store) => readStoreSnapshot(store, { inboxLimit: options.limit ?? DEFAULT_SNAPSHOT_INBOX_ROWS }));
  } catch (error) {
    if (error instanceof StoreOpenError) throw new UsageError(error.message);
    throw error;
  }
  process.stdout.write(options.json ? `${JSON.stringify(toJson(snapshot), null, 2)}\n` : toText(snapshot));
}

/** The documented JSON shape: snake_case, like the Matrix wire, and stable across versions. */
export function toJson(snapshot: StoreSnapshot): Record<string, unknown> {
  return {
    account: snapshot.account && {
      homeserver_url: snapshot.account.homeserverUrl,
      user_id: snapshot.account.userId,
      device_id: snapshot.account.deviceId,
    },
    token: { since: snapshot.token.since, version: snapshot.token.version, updated_at_ms: snapshot.token.updatedAtMs },
    leases: snapshot.leases.map((lease) => ({
      key: lease.key,
      holder: lease.holder,
      generation: lease.generation,
      expires_at_ms: lease.expiresAtMs,
    })),
    cursors: snapshot.cursors.map((cursor) => ({ consumer: cursor.consumer, seq: cursor.seq })),
    handled: snapshot.handled.map((h) => ({ consumer: h.consumer, rows: h.rows, distinct_tags: h.distinctTags, duplicates: h.duplicates })),
    inbox_count: snapshot.inboxCount,
    inbox_seq: { min: snapshot.inboxStats.minSeq, max: snapshot.inboxStats.maxSeq, last_appended: snapshot.inboxStats.lastSeq },
    inbox: snapshot.inbox.map(inboxRowJson),
    legacy_tokens: snapshot.legacyTokens.map((t) => ({ process: t.process, next_batch: t.nextBatch })),
    storage: storageJson(snapshot.storage),
    olm: olmJson(snapshot.olm),
  };
}

/**
 * One inbox row. Secrets in the content (`session_key` and the like) are `"<redacted>"`; a decrypted row says
 * how it arrived (`encryption`), an undecryptable one keeps `m.room.encrypted` and says why (`decryption_error`).
 */
function inboxRowJson(row: InboxRow): Record<string, unknown> {
  return {
    seq: row.seq,
    type: row.type,
    sender: row.sender,
    content: redactSecrets(row.type, row.content),
    ...(row.encryption === undefined ? {} : { encryption: { algorithm: row.encryption.algorithm, sender_key: row.encryption.sender_key } }),
    ...(row.decryptionError === undefined ? {} : { decryption_error: row.decryptionError }),
    ...(row.decryptionResolvedBySeq === undefined ? {} : { decrypted_later_as_seq: row.decryptionResolvedBySeq }),
    received_at_ms: row.receivedAtMs,
    fetched_by: { process: row.fetchedByProcess, pid: row.fetchedByPid },
    batch: { since: row.batchSince, next_batch: row.batchNextBatch },
  };
}

function olmJson(olm: OlmStats): Record<string, unknown> {
  return {
    identity: olm.identity && { curve25519: olm.identity.curve25519, ed25519: olm.identity.ed25519, device_keys_published: olm.identity.deviceKeysPublished },
    server_one_time_keys: olm.serverOneTimeKeys,
    one_time_keys_uploaded: olm.oneTimeKeysUploaded,
    sessions: olm.sessions,
    decrypted: olm.decrypted,
    decryption_failures: Object.fromEntries(Object.entries(olm.failures).map(([reason, count]) => [reason.replace(/-/g, '_'), count])),
    decrypted_after_query: olm.decryptedAfterQuery,
    wedged_devices: olm.wedgedDevices,
    recoveries: olm.recoveries,
    withheld_sessions: olm.withheldSessions,
  };
}

function storageJson(storage: StorageStats): Record<string, unknown> {
  const { rows, removed } = storage;
  return {
    file_bytes: storage.fileBytes,
    wal_bytes: storage.walBytes,
    page_size_bytes: storage.pageSizeBytes,
    free_pages: storage.freePages,
    auto_vacuum: storage.autoVacuum,
    rows: { inbox: rows.inbox, handled: rows.handled, event_log: rows.eventLog, notifications: rows.notifications, timeline: rows.timeline, room_keys: rows.roomKeys },
    removed: {
      inbox_rows: removed.inboxRows,
      notifier_rows_skipped: removed.notifierRowsSkipped,
      handled_rows: removed.handledRows,
      event_log_rows: removed.eventLogRows,
      notifications: removed.notifications,
      timeline_rows: removed.timelineRows,
      vacuum_pages_freed: removed.vacuumPagesFreed,
    },
    last_compaction_at_ms: storage.lastCompactionAtMs,
    last_vacuum_at_ms: storage.lastVacuumAtMs,
    retention: Object.fromEntries(
      RETENTION_KEYS.map((key) => [snakeCase(key), { max_rows: storage.retention[key].maxRows, max_age_ms: storage.retention[key].maxAgeMs }]),
    ),
  };
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function toText(snapshot: StoreSnapshot): string {
  const lines: string[] = [];
  const account = snapshot.account;
  lines.push(account ? `account   ${account.userId} device ${account.deviceId} on ${account.homeserverUrl}` : 'account   (none yet)');
  lines.push(`token     since=${snapshot.token.since ?? '(none)'} version=${snapshot.token.version}`);
  for (const lease of snapshot.leases) {
    lines.push(`lease     ${lease.key}: holder=${lease.holder} generation=${lease.generation} expires=${new Date(lease.expiresAtMs).toISOString()}`);
  }
  for (const cursor of snapshot.cursors) lines.push(`cursor    ${cursor.consumer} at seq ${cursor.seq}`);
  // The exactly-once check a person runs after killing processes: from `handled`, which outlives compaction.
  for (const h of snapshot.handled) lines.push(`handled   ${h.consumer}: ${h.rows} rows, ${h.distinctTags} distinct tags, ${h.duplicates} duplicated`);
  lines.push(...storageText(snapshot.storage));
  lines.push(...olmText(snapshot.olm));
  const { minSeq, maxSeq, lastSeq } = snapshot.inboxStats;
  const range = minSeq === null ? 'empty' : `seq ${minSeq}..${maxSeq ?? minSeq}`;
  const shown = snapshot.inbox.length < snapshot.inboxCount ? `showing the newest ${snapshot.inbox.length} (--limit)` : 'all shown';
  lines.push(`inbox     ${snapshot.inboxCount} rows (${range}, last appended ${lastSeq}); ${shown}`);
  for (const row of snapshot.inbox) {
    const later = row.decryptionResolvedBySeq === undefined ? '' : `, decrypted later as seq ${row.decryptionResolvedBySeq}`;
    const how = row.decryptionError !== undefined ? `  undecryptable: ${row.decryptionError}${later}` : row.encryption !== undefined ? '  (Olm-decrypted)' : '';
    const content = JSON.stringify(redactSecrets(row.type, row.content));
    lines.push(`  ${String(row.seq).padStart(6)}  ${row.type}  ${row.sender}  ${content}${how}  fetched by ${row.fetchedByProcess} (pid ${row.fetchedByPid})`);
  }
  return `${lines.join('\n')}\n`;
}

function storageText(storage: StorageStats): string[] {
  const { rows, removed } = storage;
  const when = (atMs: number | null): string => (atMs === null ? 'never' : new Date(atMs).toISOString());
  return [
    `storage   ${formatBytes(storage.fileBytes + storage.walBytes)} (file ${formatBytes(storage.fileBytes)}, WAL ${formatBytes(storage.walBytes)}); ` +
      `auto_vacuum ${storage.autoVacuum}, ${storage.freePages} free pages`,
    `rows      inbox ${rows.inbox}, handled ${rows.handled}, event_log ${rows.eventLog}, notifications ${rows.notifications}, ` +
      `timeline ${rows.timeline}, room_keys ${rows.roomKeys}`,
    `removed   inbox ${removed.inboxRows} rows, notifier skipped ${removed.notifierRowsSkipped} rows (window), handled ${removed.handledRows}, ` +
      `event_log ${removed.eventLogRows}, notifications ${removed.notifications}, timeline ${removed.timelineRows}, ` +
      `${removed.vacuumPagesFreed} pages vacuumed; last compaction ${when(storage.lastCompactionAtMs)}`,
    `retention ${RETENTION_KEYS.map((key) => `${key} ${describeLimit(storage.retention[key])}`).join(', ')}`,
  ];
}

function olmText(olm: OlmStats): string[] {
  if (olm.identity === null) return ['olm       no Olm account yet'];
  const failures = Object.entries(olm.failures).filter(([, count]) => count > 0);
  const failureText = failures.length === 0 ? 'none' : failures.map(([reason, count]) => `${reason} ${count}`).join(', ');
  return [
    `olm       device curve25519 ${olm.identity.curve25519}, ed25519 ${olm.identity.ed25519}; device keys ${olm.identity.deviceKeysPublished ? 'published' : 'not published yet'}`,
    `olm keys  ${olm.oneTimeKeysUploaded} one-time keys uploaded, server holds ${olm.serverOneTimeKeys ?? 'unknown'}; ${olm.sessions} sessions`,
    `olm       ${olm.decrypted} decrypted (${olm.decryptedAfterQuery} after /keys/query); failures: ${failureText}`,
    `olm       ${olm.wedgedDevices} wedged sender devices, ${olm.recoveries} recoveries (new session + m.dummy); ${olm.withheldSessions} room keys withheld by their sender`,
  ];
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
