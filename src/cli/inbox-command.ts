/**
 * `todevice inbox`: prints what a data directory's store holds: account, to-device token, lease, cursors and the
 * inbox rows, as text or as JSON (`--json`, shape documented in the README).
 *
 * Runtime: node. Read-only: it opens the store, reads one consistent snapshot (one read transaction) and closes.
 * Opening a file that is not a todevice store fails with the store's own clear error and leaves it untouched.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { openStore } from '../store/open-store';
import { readStoreSnapshot, type StoreSnapshot } from '../store/snapshot';
import { StoreOpenError } from '../store/store-errors';
import { parsePositiveInt, runCommand, UsageError } from './cli-errors';
import { CLIENT_DB_FILE } from '../shared/data-layout';

interface InboxOptions {
  data: string;
  json?: boolean;
  limit: number;
}

export function registerInboxCommand(program: Command): void {
  program
    .command('inbox')
    .description("print a data directory's to-device token, lease, cursors and inbox")
    .requiredOption('--data <dir>', 'data directory of a main process (todevice headless --data, or the app)')
    .option('--json', 'print one JSON object (shape in the README)')
    .option('--limit <n>', 'print at most this many inbox rows (newest kept)', parsePositiveInt('limit'), 10_000)
    .action((options: InboxOptions) => runCommand(async () => printInbox(options)));
}

function printInbox(options: InboxOptions): void {
  const dbPath = path.join(options.data, CLIENT_DB_FILE);
  if (!fs.existsSync(dbPath)) throw new UsageError(`no todevice store at ${dbPath}`);
  let snapshot: StoreSnapshot;
  try {
    const store = openStore(dbPath);
    try {
      snapshot = readStoreSnapshot(store, { inboxLimit: options.limit });
    } finally {
      store.close();
    }
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
    inbox_count: snapshot.inboxCount,
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

function toText(snapshot: StoreSnapshot): string {
  const lines: string[] = [];
  const account = snapshot.account;
  lines.push(account ? `account   ${account.userId} device ${account.deviceId} on ${account.homeserverUrl}` : 'account   (none yet)');
  lines.push(`token     since=${snapshot.token.since ?? '(none)'} version=${snapshot.token.version}`);
  for (const lease of snapshot.leases) {
    lines.push(`lease     ${lease.key}: holder=${lease.holder} generation=${lease.generation} expires=${new Date(lease.expiresAtMs).toISOString()}`);
  }
  for (const cursor of snapshot.cursors) lines.push(`cursor    ${cursor.consumer} at seq ${cursor.seq}`);
  lines.push(`inbox     ${snapshot.inboxCount} rows; ${describeTags(snapshot)}`);
  for (const row of snapshot.inbox) {
    lines.push(`  ${String(row.seq).padStart(6)}  ${row.type}  ${row.sender}  ${JSON.stringify(row.content)}  fetched by ${row.fetchedByProcess} (pid ${row.fetchedByPid})`);
  }
  return `${lines.join('\n')}\n`;
}

/** "N distinct tags, M duplicated": the exactly-once check a person runs after killing processes. */
function describeTags(snapshot: StoreSnapshot): string {
  const seen = new Set<string>();
  let duplicated = 0;
  for (const row of snapshot.inbox) {
    const tag = row.content.tag;
    if (typeof tag !== 'string') continue;
    if (seen.has(tag)) duplicated += 1;
    else seen.add(tag);
  }
  return `${seen.size} distinct tags, ${duplicated} duplicated`;
}
