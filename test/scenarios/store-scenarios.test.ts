/**
 * Failure modes about the store and the server rather than about timing: the SQLite write lock held too long
 * (F16), server anomalies (F14) and durability settings (F18). Where no client strategy can fail (F14, F18) the
 * test name says what is shown instead.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Strategy } from '../../src/engine/engine-types';
import { SyncEngine } from '../../src/engine/sync-engine';
import { seededRandom } from '../../src/engine/timing';
import { listInbox } from '../../src/store/inbox';
import { openStore } from '../../src/store/open-store';
import { EngineWorld } from './engine-world';
import { tempDir } from '../unit/store/temp-store';

let world: EngineWorld | undefined;
afterEach(() => {
  world?.close();
  world = undefined;
});

/**
 * Another connection takes the write lock at `point` and keeps it past the 5 s busy timeout; the writer gets
 * SQLITE_BUSY, the lock is released, and the process carries on.
 */
async function lockHeldTooLong(strategy: Strategy, point: 'mid-commit' | 'after-response-before-commit'): Promise<{ lost: number; duplicated: number }> {
  world?.close();
  world = await EngineWorld.start(strategy);
  const w = world;
  const a = w.process('main', 100);
  const holder = new Database(w.dbPath);
  w.closers.push(() => holder.close());
  let held = false;
  a.onPoint(point, () => {
    if (held) return;
    held = true;
    holder.exec('BEGIN IMMEDIATE');
  });
  await w.fixture.send(1, 3);
  await a.step();
  expect(await a.step()).toBe('retry');
  holder.exec('ROLLBACK');
  await w.drain();
  return w.verdict(3);
}

describe('failure modes of the store and the server', () => {
  it('scenario F16: another process takes the write lock between explicit-naive token write and its events and holds it past the busy timeout: the stored token acknowledges events never stored (lost); cas/lease hold the lock across both and only wait', async () => {
    expect((await lockHeldTooLong('explicit-naive', 'mid-commit')).lost).toBe(3);
    expect(await lockHeldTooLong('explicit-cas', 'after-response-before-commit')).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(await lockHeldTooLong('explicit-lease', 'after-response-before-commit')).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
  }, 40_000);

  it('scenario F14 (server anomalies; no client strategy is at fault): the reference server refuses a future since and limit 0 and caps batches at 100, and the engine refuses limit 0 itself', async () => {
    world = await EngineWorld.start('explicit-cas');
    const { fixture } = world;
    await fixture.send(1, 150);
    const client = fixture.receiver.client;
    const future = await client.slidingSyncToDevice({ connId: 'probe', timeoutMs: 0, toDevice: { enabled: true, limit: 10, since: '999999_0000000000' } });
    expect(future.ok ? 'ok' : future.error).toMatchObject({ kind: 'http', status: 400, errcode: 'M_INVALID_PARAM' });
    const zero = await client.slidingSyncToDevice({ connId: 'probe', timeoutMs: 0, toDevice: { enabled: true, limit: 0 } });
    expect(zero.ok ? 'ok' : zero.error).toMatchObject({ kind: 'http', status: 400, errcode: 'M_INVALID_PARAM' });
    const capped = await client.slidingSyncToDevice({ connId: 'probe', timeoutMs: 0, toDevice: { enabled: true, limit: 1000 } });
    expect(capped.ok && capped.value.events.length).toBe(100);
    // Nothing was deleted by the refused requests (Synapse's `limit: 0` would have acknowledged everything).
    expect((await fixture.admin.inspectDevice(fixture.receiver.userId, fixture.receiver.deviceId)).queued).toHaveLength(150);
    const store = openStore(world.dbPath);
    world.closers.push(() => store.close());
    const make = (limit: number) =>
      new SyncEngine({ store, client, clock: { nowMs: Date.now }, sleep: async () => undefined, random: seededRandom(1), processName: 'x', pid: 1, limit });
    expect(() => make(0)).toThrow(/positive integer/);
  });

  it('scenario F18 (durability; power loss cannot be simulated here): synchronous=FULL is the default and NORMAL only on request, and a committed batch survives SIGKILL of its process in both modes', () => {
    const dir = tempDir();
    for (const mode of ['FULL', 'NORMAL'] as const) {
      const file = path.join(dir, `client-${mode}.sqlite`);
      const store = openStore(file, mode === 'FULL' ? {} : { synchronous: 'NORMAL' });
      expect(store.db.pragma('synchronous', { simple: true })).toBe(mode === 'FULL' ? 2 : 1);
      store.close();
      // A child commits one batch through the real commit path, then SIGKILLs itself before closing anything.
      const script = `
        import { openStore } from ${JSON.stringify(path.resolve('src/store/open-store.ts'))};
        import { commitBatch } from ${JSON.stringify(path.resolve('src/store/commit-batch.ts'))};
        const store = openStore(${JSON.stringify(file)}, { synchronous: ${JSON.stringify(mode)} });
        commitBatch(store, { expectedSince: null, nextBatch: '3_x', events: [1, 2, 3].map((n) => ({ type: 't', sender: '@s:l', content: { n } })), process: 'main', pid: process.pid, nowMs: Date.now() });
        process.kill(process.pid, 'SIGKILL');`;
      const child = spawnSync(process.execPath, ['--import', createRequire(import.meta.url).resolve('tsx'), '--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(child.signal).toBe('SIGKILL');
      const reopened = openStore(file);
      expect(listInbox(reopened).map((row) => row.content.n)).toEqual([1, 2, 3]);
      reopened.close();
    }
  });
});
