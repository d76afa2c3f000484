// A homeserver that answers our `since` without having issued it (Synapse echoes a `since` ahead of its stream;
// a database restored from an older copy puts every new message below our token): the engine must say so and
// stop, not wait for ever while the server queues messages it will later acknowledge unseen.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MatrixClient } from '../../../src/engine/matrix-client';
import { SinceEchoCheck } from '../../../src/engine/since-echo-check';
import type { SyncTransport } from '../../../src/engine/matrix-client';
import { describeSyncFailure } from '../../../src/engine/describe-failure';
import { startHomeserver, type RunningHomeserver } from '../../../src/homeserver/homeserver';
import { ok } from '../../../src/shared/result';
import { readToken } from '../../../src/store/token';
import { makeEngine } from './engine-fixture';
import { tempStore } from '../store/temp-store';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const DB_FILES = ['homeserver.db', 'homeserver.db-wal', 'homeserver.db-shm'];

function copyDb(fromDir: string, toDir: string): void {
  for (const name of DB_FILES) {
    const source = path.join(fromDir, name);
    if (fs.existsSync(source)) fs.copyFileSync(source, path.join(toDir, name));
    else fs.rmSync(path.join(toDir, name), { force: true });
  }
}

describe('a since the server never issued', () => {
  it('after a restore from an older copy, a Synapse-like server echoes our token; the engine reports it and stops', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-echo-'));
    const backup = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-echo-backup-'));
    const dbPath = path.join(dir, 'homeserver.db');
    const port = await freePort();
    const start = (): Promise<RunningHomeserver> => startHomeserver({ dbPath, port, compat: 'synapse', log: () => undefined });

    let server = await start();
    const anonymous = new MatrixClient({ baseUrl: server.url });
    const receiverLogin = await anonymous.register({ username: 'rcv', password: 'pw', deviceId: 'PHONE' });
    const senderLogin = await anonymous.register({ username: 'snd', password: 'pw', deviceId: 'SENDER' });
    if (!receiverLogin.ok || !senderLogin.ok) throw new Error('registration failed');
    const receiver = anonymous.withAccessToken(receiverLogin.value.access_token);
    const sender = anonymous.withAccessToken(senderLogin.value.access_token);
    let txn = 0;
    const send = async (count: number): Promise<void> => {
      for (let n = 0; n < count; n += 1) {
        txn += 1;
        const body = { [receiverLogin.value.user_id]: { PHONE: { n } } };
        let sent = await sender.sendToDevice('m.test', `t${txn}`, body);
        // A keep-alive socket to the server before its restart fails once; the same txnId makes the retry safe.
        if (!sent.ok && sent.error.kind === 'network') sent = await sender.sendToDevice('m.test', `t${txn}`, body);
        if (!sent.ok) throw new Error(`sendToDevice failed: ${JSON.stringify(sent.error)}`);
      }
    };
    await server.close();
    copyDb(dir, backup); // the "older copy": accounts, no messages

    server = await start();
    await send(20);
    const store = tempStore();
    const { engine, events } = makeEngine(store, receiver, { processName: 'main', longPollTimeoutMs: 100 });
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(readToken(store).since).toBe('20');
    await server.close();

    copyDb(backup, dir);
    server = await start();
    try {
      await send(3); // queued at stream positions 1..3, below the store's token 20
      const summary = await engine.run(AbortSignal.timeout(60_000));
      expect(summary.kind).toBe('failed');
      if (summary.kind !== 'failed') return;
      expect(summary.error.kind).toBe('since-not-issued');
      expect(describeSyncFailure(summary.error)).toMatch(/answers this store's to-device token without having issued it: it holds messages/);
      expect(events.some((event) => event.kind === 'anomaly')).toBe(true);
      expect(readToken(store).since).toBe('20');
    } finally {
      await server.close();
    }
  });

  it('compares bare integer tokens: a server stream behind our token is reported, one ahead is not', async () => {
    const transport = (nextBatch: string): SyncTransport => ({
      slidingSyncToDevice: async () => ok({ nextBatch, events: [], malformedEvents: 0, pos: undefined }),
      classicSync: async () => ok({ nextBatch, events: [], malformedEvents: 0 }),
    });
    const clock = { nowMs: () => 1_000 };
    const behind = new SinceEchoCheck(transport('5'), 'main', 100, clock);
    expect(await behind.probe('20', AbortSignal.timeout(1000))).toMatchObject({ kind: 'since-not-issued' });
    const ahead = new SinceEchoCheck(transport('25'), 'main', 100, clock);
    expect(await ahead.probe('20', AbortSignal.timeout(1000))).toBeUndefined();
    const opaque = new SinceEchoCheck(transport('5_abc'), 'main', 100, clock);
    expect(await opaque.probe('20_def', AbortSignal.timeout(1000))).toBeUndefined();
  });

  it('probes at most once per interval', () => {
    let now = 0;
    const check = new SinceEchoCheck({} as SyncTransport, 'main', 100, { nowMs: () => now }, 60_000);
    expect(check.due(null)).toBe(false);
    expect(check.due('7')).toBe(true);
    void check.probe('7', AbortSignal.abort()).catch(() => undefined);
    now = 59_999;
    expect(check.due('7')).toBe(false);
    now = 60_000;
    expect(check.due('7')).toBe(true);
  });
});
