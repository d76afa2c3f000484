// Emptying an app data directory: only todevice's own files go, a directory a live app uses is refused, and
// the store opens empty afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DATA_DIR_FILES, markDataDirInUse, resetDataDir } from '../../../src/main/host/data-dir-reset';
import { CLIENT_DB_FILE } from '../../../src/shared/data-layout';
import { appendToInbox, inboxStats } from '../../../src/store/inbox';
import { openStore } from '../../../src/store/open-store';
import { tempDir } from '../store/temp-store';

describe('data directory reset', () => {
  it('reset: deletes the store and the homeserver database with their SQLite files, and nothing else', () => {
    const dir = tempDir();
    const store = openStore(path.join(dir, CLIENT_DB_FILE));
    appendToInbox(store, [{ type: 't', sender: '@s:x', content: { tag: 'a' } }], { receivedAtMs: 1, process: 'main', pid: 1, batchSince: null, batchNextBatch: 'n' });
    store.close();
    fs.writeFileSync(path.join(dir, 'homeserver.db'), 'x');
    fs.writeFileSync(path.join(dir, 'homeserver.db-wal'), 'x');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'the user\'s own file');
    fs.mkdirSync(path.join(dir, 'photos'));

    const result = resetDataDir(dir);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.removed).toEqual(expect.arrayContaining([CLIENT_DB_FILE, 'homeserver.db', 'homeserver.db-wal']));
    expect(fs.readdirSync(dir).sort()).toEqual(['notes.txt', 'photos']);
    const reopened = openStore(path.join(dir, CLIENT_DB_FILE));
    expect(inboxStats(reopened).count).toBe(0);
    reopened.close();
    expect(resetDataDir(dir)).toMatchObject({ ok: true, value: { removed: expect.arrayContaining([CLIENT_DB_FILE]) } });
    expect(DATA_DIR_FILES).not.toContain('notes.txt');
  });

  it('reset: refuses a directory a running app uses, allows its own host and a stale marker', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'homeserver.db'), 'x');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      markDataDirInUse(dir, child.pid ?? -1);
      expect(resetDataDir(dir)).toMatchObject({ ok: false, error: { kind: 'in-use', pid: child.pid } });
      expect(fs.existsSync(path.join(dir, 'homeserver.db'))).toBe(true);
      expect(resetDataDir(dir, { ownPid: child.pid ?? -1 }).ok).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    fs.writeFileSync(path.join(dir, 'homeserver.db'), 'x');
    markDataDirInUse(dir, child.pid ?? -1);
    // The marker's process is gone: the directory is free.
    expect(resetDataDir(dir).ok).toBe(true);
    expect(fs.existsSync(path.join(dir, 'homeserver.db'))).toBe(false);
  });
});
