// `todevice inbox` on a store that compaction and retention have worked on: the store's size (file + WAL), rows
// per table, what was removed (inbox rows, notifier rows skipped, pruned history) and when, as text and JSON.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLIENT_DB_FILE } from '../../src/shared/data-layout';
import { saveAccount } from '../../src/store/account';
import { consume } from '../../src/store/consume';
import { NOTIFIER_CONSUMER, registerConsumer } from '../../src/store/cursors';
import { recordHandled } from '../../src/store/handled';
import { appendToInbox } from '../../src/store/inbox';
import { compactInbox, skipPastWindow } from '../../src/store/inbox-compaction';
import { openStore } from '../../src/store/open-store';
import { writeRetentionPolicy } from '../../src/store/retention-policy';
import { tempDir } from './support';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));

function prepareStore(dir: string): void {
  const store = openStore(path.join(dir, CLIENT_DB_FILE));
  try {
    saveAccount(store, { homeserverUrl: 'http://127.0.0.1:1', userId: '@me:x', deviceId: 'PHONE', accessToken: 'secret-token-never-printed' });
    writeRetentionPolicy(store, { inbox: { maxRows: 2, maxAgeMs: null }, notifierWindow: { maxRows: 5, maxAgeMs: null } });
    const events = Array.from({ length: 10 }, (_, i) => ({ type: 'm.test', sender: '@s:x', content: { tag: `t${i}` } }));
    store.immediate(() => appendToInbox(store, events, { receivedAtMs: 1, process: 'main', pid: 7, batchSince: null, batchNextBatch: 'n' }));
    registerConsumer(store, NOTIFIER_CONSUMER);
    skipPastWindow(store, NOTIFIER_CONSUMER, { maxRows: 5, maxAgeMs: null }, { nowMs: 2 });
    consume(store, 'main', (row, db) => recordHandled(db, 'main', row, 3));
    compactInbox(store, { limit: { maxRows: 2, maxAgeMs: null }, nowMs: Date.UTC(2026, 0, 2) });
  } finally {
    store.close();
  }
}

describe('todevice inbox', () => {
  it('inbox: shows the store size, rows per table and what compaction removed, in JSON and text, never the token', async () => {
    const dir = tempDir('inbox-cmd');
    prepareStore(dir);
    const json = JSON.parse((await run(process.execPath, [cli, 'inbox', '--data', dir, '--json'])).stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(json.storage.file_bytes).toBeGreaterThan(0);
    expect(typeof json.storage.wal_bytes).toBe('number');
    expect(json.storage.auto_vacuum).toBe('incremental');
    expect(json.storage.rows).toMatchObject({ inbox: 5, handled: 10 });
    expect(json.storage.removed).toMatchObject({ inbox_rows: 5, notifier_rows_skipped: 5 });
    expect(json.storage.last_compaction_at_ms).toBe(Date.UTC(2026, 0, 2));
    expect(json.storage.retention.notifier_window).toEqual({ max_rows: 5, max_age_ms: null });
    expect(json.handled).toEqual([{ consumer: 'main', rows: 10, distinct_tags: 10, duplicates: 0 }]);
    expect(json.inbox.map((row: { seq: number }) => row.seq)).toEqual([6, 7, 8, 9, 10]);

    const text = (await run(process.execPath, [cli, 'inbox', '--data', dir, '--limit', '2'])).stdout;
    expect(text).toMatch(/^storage {3}[\d.]+ (B|KiB|MiB) \(file [\d.]+ (B|KiB|MiB), WAL [\d.]+ (B|KiB|MiB)\); auto_vacuum incremental/m);
    expect(text).toMatch(/^rows {6}inbox 5, handled 10, event_log 0/m);
    expect(text).toContain('removed   inbox 5 rows, notifier skipped 5 rows (window)');
    expect(text).toContain('last compaction 2026-01-02T00:00:00.000Z');
    expect(text).toContain('inbox     5 rows (seq 6..10, last appended 10); showing the newest 2 (--limit)');
    expect(text).not.toContain('secret-token');
  });
});
