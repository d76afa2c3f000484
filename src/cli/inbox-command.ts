/**
 * `todevice inbox`: prints what a data directory's store holds: account, to-device token, lease, cursors and the
 * inbox rows, as text or as JSON (`--json`, shape documented in the README).
 *
 * Runtime: node. Read-only: it opens the store read-only (creating, migrating and changing nothing), reads one
 * consistent snapshot in one read transaction, and closes. A missing, empty, foreign, damaged or differently
 * versioned file gets the store's own one-line error and is left untouched. The exactly-once summary covers the
 * whole inbox (counted in SQL); `--limit` only bounds how many rows are printed, and the output says so when
 * rows were left out.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { inboxTagSummary, type InboxTagSummary } from '../store/inbox';
import { readStoreReadOnly } from '../store/open-store';
import { readStoreSnapshot, type StoreSnapshot } from '../store/snapshot';
import { StoreOpenError } from '../store/store-errors';
import { parsePositiveInt, runCommand, UsageError } from './cli-errors';
import { CLIENT_DB_FILE } from '../shared/data-layout';

interface InboxOptions {
  data: string;
  json?: boolean;
  limit?: number;
}

const DEFAULT_ROW_LIMIT = 10_000;

interface InboxReport {
  snapshot: StoreSnapshot;
  tags: InboxTagSummary;
  rowLimit: number;
}

export function registerInboxCommand(program: Command): void {
  program
    .command('inbox')
    .description("print a data directory's to-device token, lease, cursors and inbox")
    .requiredOption('--data <dir>', 'data directory of a main process (todevice headless --data, or the app)')
    .option('--json', 'print one JSON object (shape in the README)')
    .option('--limit <n>', 'print at most this many inbox rows, the newest (default: 10000; the summary always covers all)', parsePositiveInt('limit'))
    .action((options: InboxOptions) => runCommand(async () => printInbox(options)));
}

function printInbox(options: InboxOptions): void {
  const dbPath = path.join(options.data, CLIENT_DB_FILE);
  const rowLimit = options.limit ?? DEFAULT_ROW_LIMIT;
  let report: InboxReport;
  try {
    report = readStoreReadOnly(dbPath, (store) =>
      store.db.transaction(() => ({
        snapshot: readStoreSnapshot(store, { inboxLimit: rowLimit, inboxNewest: true }),
        tags: inboxTagSummary(store),
        rowLimit,
      }))(),
    );
  } catch (error) {
    if (error instanceof StoreOpenError) throw new UsageError(error.message);
    throw error;
  }
  process.stdout.write(options.json ? `${JSON.stringify(toJson(report), null, 2)}\n` : toText(report));
}

/** The documented JSON shape: snake_case, like the Matrix wire, and stable across versions. */
export function toJson(report: InboxReport): Record<string, unknown> {
  const { snapshot, tags } = report;
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
    inbox_count: snapshot.inboxCount,
    inbox_tags: { tagged: tags.tagged, distinct: tags.distinctTags, duplicated: tags.duplicated },
    // `inbox` lists the newest `limit` rows; `truncated` says older ones were left out of the list (not of the counts).
    inbox_listed: { rows: snapshot.inbox.length, limit: report.rowLimit, truncated: snapshot.inbox.length < snapshot.inboxCount },
    inbox: snapshot.inbox.map((row) => ({
      seq: row.seq,
      type: row.type,
      sender: row.sender,
      content: row.content,
      received_at_ms: row.receivedAtMs,
      fetched_by: { process: row.fetchedByProcess, pid: row.fetchedByPid },
      batch: { since: row.batchSince, next_batch: row.batchNextBatch },
    })),
    legacy_tokens: snapshot.legacyTokens.map((t) => ({ process: t.process, next_batch: t.nextBatch })),
  };
}

function toText(report: InboxReport): string {
  const { snapshot, tags } = report;
  const lines: string[] = [];
  const account = snapshot.account;
  lines.push(account ? `account   ${account.userId} device ${account.deviceId} on ${account.homeserverUrl}` : 'account   (none yet)');
  lines.push(`token     since=${snapshot.token.since ?? '(none)'} version=${snapshot.token.version}`);
  for (const lease of snapshot.leases) {
    lines.push(`lease     ${lease.key}: holder=${lease.holder} generation=${lease.generation} expires=${new Date(lease.expiresAtMs).toISOString()}`);
  }
  for (const cursor of snapshot.cursors) lines.push(`cursor    ${cursor.consumer} at seq ${cursor.seq}`);
  lines.push(`inbox     ${snapshot.inboxCount} rows; ${tags.distinctTags} distinct tags, ${tags.duplicated} duplicated`);
  if (snapshot.inbox.length < snapshot.inboxCount) {
    lines.push(`          showing the newest ${snapshot.inbox.length} of ${snapshot.inboxCount} rows (--limit ${report.rowLimit})`);
  }
  for (const row of snapshot.inbox) {
    lines.push(`  ${String(row.seq).padStart(6)}  ${row.type}  ${row.sender}  ${JSON.stringify(row.content)}  fetched by ${row.fetchedByProcess} (pid ${row.fetchedByPid})`);
  }
  return `${lines.join('\n')}\n`;
}
