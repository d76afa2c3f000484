// Conformance: state survives a restart on the same database file, and a since "from the future" (after the
// database was restored from an older copy) is refused instead of silently acknowledging new messages.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { numbers, register, runServeExpectingFailure, sendNumbered, sendToDevice, slidingSync, startTestServer, toDeviceBody } from './support';

/** Puts an older copy of a stopped server's database back in place, with no WAL of the newer one left beside it. */
function restoreCopy(backup: string, dbPath: string): void {
  copyFileSync(backup, dbPath);
  rmSync(`${dbPath}-wal`, { force: true });
  rmSync(`${dbPath}-shm`, { force: true });
}

const dir = mkdtempSync(join(tmpdir(), 'todevice-hs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('persistence', () => {
  it('restart: a message queued before a restart is delivered after it, with tokens and pos still valid', async () => {
    const dbPath = join(dir, 'restart.db');
    let ts = await startTestServer({ dbPath });
    const sender = await register(ts.url, 'SENDER');
    const me = await register(ts.url, 'PHONE');
    await sendNumbered(ts.url, sender, me, 1);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const since = first.body.extensions.to_device.next_batch;
    await sendToDevice(ts.url, sender, { [me.userId]: { [me.deviceId]: { n: 1 } } }, 'org.example.test', 'before-restart');
    await ts.close();

    ts = await startTestServer({ dbPath });
    try {
      const after = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since }) });
      expect(after.status).toBe(200);
      expect(numbers(after.body.extensions.to_device.events)).toEqual([1]);
      expect(await ts.admin.inspectDevice(me.userId, me.deviceId)).toMatchObject({ accepted: 2, deleted: 1 });
      // Idempotency records survive too: a send retried after the restart queues nothing new.
      await sendToDevice(ts.url, sender, { [me.userId]: { [me.deviceId]: { n: 1 } } }, 'org.example.test', 'before-restart');
      expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).accepted).toBe(2);
    } finally {
      await ts.close();
    }
  });

  it('restart: a since from the future (database restored from an older copy) gets 400 and deletes nothing', async () => {
    const dbPath = join(dir, 'future.db');
    const backup = join(dir, 'future-backup.db');
    let ts = await startTestServer({ dbPath });
    const sender = await register(ts.url, 'SENDER');
    const me = await register(ts.url, 'PHONE');
    await ts.close();
    copyFileSync(dbPath, backup);

    ts = await startTestServer({ dbPath });
    await sendNumbered(ts.url, sender, me, 3);
    const ahead = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    const futureSince = ahead.body.extensions.to_device.next_batch;
    await ts.close();

    restoreCopy(backup, dbPath);
    ts = await startTestServer({ dbPath });
    try {
      await sendNumbered(ts.url, sender, me, 1, 10);
      const response = await slidingSync(ts.url, me, { body: toDeviceBody({ since: futureSince }) });
      expect(response).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
      expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).queued.map((m) => m.content.n)).toEqual([10]);
    } finally {
      await ts.close();
    }
  });

  it('restart: a pos issued after the copy was taken is unknown once the older copy is restored, and deletes nothing', async () => {
    const dbPath = join(dir, 'future-pos.db');
    const backup = join(dir, 'future-pos-backup.db');
    let ts = await startTestServer({ dbPath });
    const sender = await register(ts.url, 'SENDER');
    const me = await register(ts.url, 'PHONE');
    await sendNumbered(ts.url, sender, me, 2);
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({ limit: 1 }) });
    const since = first.body.extensions.to_device.next_batch as string;
    await ts.close();
    copyFileSync(dbPath, backup);

    ts = await startTestServer({ dbPath });
    const second = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ limit: 1 }) });
    const third = await slidingSync(ts.url, me, { pos: second.body.pos, body: toDeviceBody({ limit: 1 }) });
    expect(third.status).toBe(200);
    await ts.close();

    restoreCopy(backup, dbPath);
    ts = await startTestServer({ dbPath });
    try {
      const restored = await slidingSync(ts.url, me, { pos: third.body.pos, body: toDeviceBody({ since, limit: 1 }) });
      expect(restored).toMatchObject({ status: 400, body: { errcode: 'M_UNKNOWN_POS' } });
      expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).deleted).toBe(0);
      // The pos the copy had seen is still good.
      const known = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since, limit: 1 }) });
      expect(numbers(known.body.extensions.to_device.events)).toEqual([1]);
    } finally {
      await ts.close();
    }
  });

  it('restart: a database from a newer homeserver is refused with a clear error', async () => {
    const dbPath = join(dir, 'newer.db');
    await (await startTestServer({ dbPath })).close();
    const db = new Database(dbPath);
    db.pragma('user_version = 999');
    db.close();
    const failure = await runServeExpectingFailure(['--db', dbPath]);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(/newer than this homeserver/);
    expect(failure.stderr).not.toMatch(/\n\s+at /);
  });

  it('files: a new database is readable by its owner only (it holds access tokens)', async () => {
    const dbPath = join(dir, 'mode.db');
    await (await startTestServer({ dbPath })).close();
    expect(statSync(dbPath).mode & 0o777).toBe(0o600);
  });

  it('files: an empty, non-SQLite, foreign or damaged file is refused in one line and left byte-for-byte as it was', async () => {
    const healthy = join(dir, 'healthy.db');
    const ts = await startTestServer({ dbPath: healthy });
    await register(ts.url, 'PHONE');
    await ts.close();
    const foreign = (file: string): void => {
      const other = new Database(file);
      other.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi')");
      other.close();
    };
    const cases: Array<[string, (file: string) => void, RegExp]> = [
      ['empty.db', (file) => writeFileSync(file, ''), /empty file/],
      ['notes.db', (file) => writeFileSync(file, 'my notes, not a database\n'.repeat(20)), /not an SQLite database/],
      ['other.db', foreign, /another program's SQLite database/],
      ['damaged.db', (file) => writeFileSync(file, readFileSync(healthy).subarray(0, 4096 + 100)), /damaged/],
    ];
    for (const [name, make, message] of cases) {
      const file = join(dir, name);
      make(file);
      const before = readFileSync(file);
      const failure = await runServeExpectingFailure(['--db', file]);
      expect(failure.stderr, name).toMatch(message);
      expect(failure.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(readFileSync(file).equals(before), name).toBe(true);
    }
  });

  it('restart: a database belongs to one server name', async () => {
    const dbPath = join(dir, 'named.db');
    const ts = await startTestServer({ dbPath, serverName: 'one.example' });
    await ts.close();
    const failure = await runServeExpectingFailure(['--db', dbPath, '--server-name', 'two.example']);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(/server name/);
  });
});
