// The live path's server commit: a message that wakes a waiting sliding sync long poll is committed together with
// the poll's batch and its next `pos` (device-waiters.ts). Because a `pos` is stateless (sliding-sync-pos.ts), the
// poll's answer adds no page to that commit: it writes only the delivery counter on the device row that queueing
// the message wrote anyway. Measured as WAL frames (one per page a commit writes) on a real database file.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../../src/homeserver/admin-client';
import { startHomeserver } from '../../../src/homeserver/homeserver';
import { numbers, register, sendNumbered, slidingSync, toDeviceBody } from '../../conformance/support';

const dir = mkdtempSync(join(tmpdir(), 'todevice-live-writes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;

describe('live path writes', () => {
  it('live path: a send that wakes a long poll commits no more pages than a send that wakes nothing', async () => {
    const dbPath = join(dir, 'live.db');
    const server = await startHomeserver({ dbPath, log: () => undefined });
    const observer = new Database(dbPath);
    try {
      const admin = new AdminClient(server.url, server.adminToken);
      const sender = await register(server.url, 'SENDER');
      const me = await register(server.url, 'PHONE');
      const pageBytes = observer.pragma('page_size', { simple: true }) as number;
      /** Pages written by what `work` commits: the WAL is emptied first, and nothing else writes meanwhile. */
      const pagesWrittenBy = async (work: () => Promise<void>): Promise<number> => {
        const [checkpoint] = observer.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number }>;
        expect(checkpoint).toEqual(expect.objectContaining({ busy: 0, log: 0 }));
        await work();
        return (statSync(`${dbPath}-wal`).size - WAL_HEADER_BYTES) / (FRAME_HEADER_BYTES + pageBytes);
      };

      const opened = await slidingSync(server.url, me, { body: toDeviceBody({}) });
      const quiet = await pagesWrittenBy(() => sendNumbered(server.url, sender, me, 1, 0));
      const drained = await slidingSync(server.url, me, { pos: opened.body.pos, body: toDeviceBody({ since: opened.body.extensions.to_device.next_batch }) });
      expect(numbers(drained.body.extensions.to_device.events)).toEqual([0]);

      // The poll acknowledges message 0 in its first transaction, then waits: nothing else is queued.
      const since = drained.body.extensions.to_device.next_batch as string;
      const poll = slidingSync(server.url, me, { pos: drained.body.pos, timeoutMs: 30_000, body: toDeviceBody({ since }) });
      for (let attempt = 0; (await admin.inspectDevice(me.userId, me.deviceId)).deleted === 0; attempt += 1) {
        expect(attempt, 'the poll never acknowledged message 0').toBeLessThan(1000);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const woken = await pagesWrittenBy(async () => {
        await sendNumbered(server.url, sender, me, 1, 1);
        const answered = await poll;
        expect(numbers(answered.body.extensions.to_device.events)).toEqual([1]);
        expect(answered.body.pos).not.toBe(drained.body.pos);
      });
      expect(quiet).toBeGreaterThan(0);
      expect(woken).toBe(quiet);
    } finally {
      observer.close();
      await server.close();
    }
  });
});
