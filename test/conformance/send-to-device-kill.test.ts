// A homeserver killed (SIGKILL) in the middle of a burst of concurrent sendToDevice requests loses none it
// answered 200, and after the restart every request sent again, answered or not, queues its message exactly once:
// nothing is answered before its group committed, and the transaction record commits with the messages. (A process
// kill leaves the written WAL in the page cache, so this proves "answered only after its commit"; that a commit
// is on disk when it returns is the database's `synchronous = FULL`, src/homeserver/db.ts.)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { register, sendToDevice, startTestServer, type TestUser } from './support';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-send-kill-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const cliEntry = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));

const SENDERS = 6;
/** Answers to collect before the kill: enough that several groups and fsyncs were under way. */
const ANSWERED_BEFORE_KILL = 150;

describe('sendToDevice under SIGKILL', () => {
  it('kill: a server killed during a burst keeps every message it answered, and retries after the restart queue each message once', async () => {
    const dbPath = path.join(dir, 'hs.db');
    const child = spawn(process.execPath, [cliEntry, 'serve', '--port', '0', '--db', dbPath, '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const url = (JSON.parse(await new Promise<string>((resolve) => readline.createInterface({ input: child.stdout }).once('line', resolve))) as { url: string }).url;
    const phone = await register(url, 'PHONE', 'phone');
    const senders: TestUser[] = [];
    for (let s = 0; s < SENDERS; s += 1) senders.push(await register(url, `S${s}`, `sender${s}`));
    const answered = new Set<string>();
    const attempted: Array<{ sender: number; txnId: string; n: number }> = [];
    let next = 0;
    let killed = false;
    const runs = senders.map(async (sender, s) => {
      while (!killed) {
        const n = next;
        next += 1;
        const txnId = `t${n}`;
        attempted.push({ sender: s, txnId, n });
        const response = await sendToDevice(url, sender, { [phone.userId]: { [phone.deviceId]: { n } } }, 'org.example.kill', txnId).catch(() => undefined);
        if (response?.status === 200) answered.add(txnId);
        if (answered.size >= ANSWERED_BEFORE_KILL && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    await Promise.all(runs);
    await exited;

    const server = await startTestServer({ dbPath });
    try {
      const held = await server.admin.inspectDevice(phone.userId, phone.deviceId);
      const heldNumbers = new Set(held.queued.map((row) => row.content.n));
      for (const { txnId, n } of attempted) if (answered.has(txnId)) expect(heldNumbers.has(n), `answered ${txnId} was lost`).toBe(true);
      // Every request again, as a client that never saw an answer would send it: each message once, in all.
      for (const { sender, txnId, n } of attempted) {
        const again = await sendToDevice(server.url, senders[sender]!, { [phone.userId]: { [phone.deviceId]: { n } } }, 'org.example.kill', txnId);
        expect(again.status).toBe(200);
      }
      const after = (await server.admin.inspectDevice(phone.userId, phone.deviceId)).queued.map((row) => row.content.n as number);
      expect([...after].sort((a, b) => a - b)).toEqual(attempted.map(({ n }) => n).sort((a, b) => a - b));
    } finally {
      await server.close();
    }
  });
});
