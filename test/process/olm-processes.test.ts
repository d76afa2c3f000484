// Real processes with real Olm: `todevice headless` publishes its device's keys and decrypts Olm-encrypted room
// keys from a libolm sender through `todevice serve`. SIGKILL at each Olm kill point, then restart: every room
// key is decrypted exactly once and no session is wedged. Two processes of one device starting together, and a
// /keys/upload response held back by the server, leave exactly one set of one-time keys on the server.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PICKLE_KEY_FILE } from '../../src/crypto/pickle-key';
import { OLM_KILL_POINTS } from '../../src/engine/kill-points';
import { MatrixClient } from '../../src/engine/matrix-client';
import { readOlmAccount } from '../../src/store/olm-account';
import { readOlmStats, type OlmStats } from '../../src/store/olm-stats';
import { HttpOlmSender, type MegolmSession } from '../unit/device/http-olm-sender';
import { RECEIVER, spawnHeadless, startHeadless, startNotifier, startTestServer, tempDir, waitFor, withStore, type RunningProcess, type TestServer } from './support';

const RECEIVER_USER = `@${RECEIVER.user}:localhost`;
const ROOM = '!olm-process:localhost';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

function olmStats(dataDir: string): OlmStats {
  return withStore(dataDir, (store) => readOlmStats(store));
}

function keysPublished(dataDir: string): boolean {
  try {
    const stats = olmStats(dataDir);
    // The upload's tally is written right after the keys were marked published.
    return stats.identity?.deviceKeysPublished === true && stats.serverOneTimeKeys !== null && stats.oneTimeKeysUploaded > 0;
  } catch {
    return false; // the store is not there yet
  }
}

/** Session IDs of the decrypted m.room_key rows, in inbox order (a repeat would be a key decrypted twice). */
function decryptedKeyRows(dataDir: string): string[] {
  return withStore(dataDir, (store) =>
    (store.statement("SELECT json_extract(content, '$.session_id') AS id FROM inbox WHERE type = 'm.room_key' AND encryption IS NOT NULL ORDER BY seq").all() as Array<{ id: string }>).map((row) => row.id),
  );
}

function storedSessions(dataDir: string): Set<string> {
  return withStore(dataDir, (store) => new Set((store.statement("SELECT session_id FROM room_keys WHERE stored_by = 'main'").all() as Array<{ session_id: string }>).map((row) => row.session_id)));
}

async function olmSender(url: string): Promise<HttpOlmSender> {
  const anonymous = new MatrixClient({ baseUrl: url });
  const login = await anonymous.register({ username: `olmsender${Math.random().toString(36).slice(2, 8)}`, password: 'pw', deviceId: 'OLMSENDER' });
  if (!login.ok) throw new Error(`register failed: ${JSON.stringify(login.error)}`);
  return HttpOlmSender.create(anonymous.withAccessToken(login.value.access_token), login.value.user_id, 'OLMSENDER');
}

async function stop(running: RunningProcess): Promise<void> {
  running.child.kill('SIGTERM');
  await running.exited;
}

/** Every key of `sessions` reached the main consumer, each decrypted once, with no Olm harm. */
async function expectEachKeyOnce(dataDir: string, sessions: readonly MegolmSession[]): Promise<void> {
  const ids = sessions.map((session) => session.sessionId);
  await waitFor(() => ids.every((id) => storedSessions(dataDir).has(id)), 30_000, () => `stored ${[...storedSessions(dataDir)].length} of ${ids.length} keys`);
  expect(decryptedKeyRows(dataDir).sort()).toEqual([...ids].sort());
  const stats = olmStats(dataDir);
  // The first key came from a device not yet queried; everything else decrypted at its commit.
  expect(stats.failures).toMatchObject({ replayed: 0, 'bad-mac': 0, 'no-session': 0, 'one-time-key-gone': 0, 'wrong-recipient': 0, 'wrong-sender': 0, malformed: 0, 'olm-error': 0 });
  expect(stats.wedgedDevices).toBe(0);
}

describe('Olm in real processes', () => {
  it('covers every Olm kill point', () => {
    expect(OLM_KILL_POINTS).toEqual(['after-decrypt-before-commit', 'after-keys-upload-before-mark-published']);
  });

  it('headless: SIGKILL at after-decrypt-before-commit, restart, every room key decrypted exactly once, no wedged session', async () => {
    const dataDir = tempDir('olm-decrypt-kill');
    const first = await startHeadless(server.url, dataDir);
    await waitFor(() => keysPublished(dataDir), 30_000, () => `keys never published: ${first.stderr.join('\n')}`);
    await stop(first);
    const sender = await olmSender(server.url);
    try {
      await sender.startSession(RECEIVER_USER, RECEIVER.deviceId);
      const sessions = [await sender.shareRoomKey(ROOM)];
      const doomed = spawnHeadless(server.url, dataDir, { env: { TODEVICE_KILL_AT: 'after-decrypt-before-commit:2', TODEVICE_KILL_PROCESS: 'main' } });
      // Progress first: the first key's batch (hit 1) committed and, once the sender's device was queried, decrypted.
      await waitFor(() => decryptedKeyRows(dataDir).length === 1, 30_000, () => `first key not decrypted: ${doomed.stderr.join('\n')}`);
      for (let n = 0; n < 4; n += 1) sessions.push(await sender.shareRoomKey(ROOM));
      expect((await doomed.exited).signal).toBe('SIGKILL');
      const restarted = await startHeadless(server.url, dataDir);
      try {
        sessions.push(await sender.shareRoomKey(ROOM));
        await expectEachKeyOnce(dataDir, sessions);
        expect(olmStats(dataDir).failures['unknown-device']).toBe(1);
      } finally {
        await stop(restarted);
      }
    } finally {
      sender.free();
    }
  });

  it('notifier: SIGKILL at after-decrypt-before-commit, then main decrypts the redelivered key, exactly once', async () => {
    const dataDir = tempDir('olm-notifier-kill');
    const first = await startHeadless(server.url, dataDir);
    const sender = await olmSender(server.url);
    try {
      await waitFor(() => keysPublished(dataDir), 30_000, () => `keys never published: ${first.stderr.join('\n')}`);
      await sender.startSession(RECEIVER_USER, RECEIVER.deviceId);
      const sessions = [await sender.shareRoomKey(ROOM)];
      await waitFor(() => decryptedKeyRows(dataDir).length === 1, 30_000, () => `first key not decrypted: ${first.stderr.join('\n')}`);
      await stop(first);
      sessions.push(await sender.shareRoomKey(ROOM));
      const notifier = startNotifier(dataDir, '$none:localhost', ROOM, { TODEVICE_KILL_AT: 'after-decrypt-before-commit:1', TODEVICE_KILL_PROCESS: 'notifier' });
      expect((await notifier.exited).signal).toBe('SIGKILL');
      expect(decryptedKeyRows(dataDir)).toHaveLength(1);
      const restarted = await startHeadless(server.url, dataDir);
      try {
        await expectEachKeyOnce(dataDir, sessions);
      } finally {
        await stop(restarted);
      }
    } finally {
      sender.free();
    }
  });

  it('headless: SIGKILL at after-keys-upload-before-mark-published, restart uploads the same keys again, accepted, and they work', async () => {
    const dataDir = tempDir('olm-upload-kill');
    const doomed = spawnHeadless(server.url, dataDir, { env: { TODEVICE_KILL_AT: 'after-keys-upload-before-mark-published:1', TODEVICE_KILL_PROCESS: 'main' } });
    expect((await doomed.exited).signal).toBe('SIGKILL');
    const unmarked = withStore(dataDir, (store) => readOlmAccount(store));
    expect(unmarked?.deviceKeysPublished).toBe(false);
    expect(unmarked?.uploadClaimedBy).toBe('main');
    const restarted = await startHeadless(server.url, dataDir);
    const sender = await olmSender(server.url);
    try {
      await waitFor(() => keysPublished(dataDir), 30_000, () => `keys never published: ${restarted.stderr.join('\n')}`);
      const stats = olmStats(dataDir);
      expect(stats.serverOneTimeKeys).toBe(50);
      expect(stats.oneTimeKeysUploaded).toBe(50);
      expect(restarted.stderr.filter((line) => line.includes('key upload failed'))).toEqual([]);
      await sender.startSession(RECEIVER_USER, RECEIVER.deviceId);
      await expectEachKeyOnce(dataDir, [await sender.shareRoomKey(ROOM), await sender.shareRoomKey(ROOM)]);
    } finally {
      sender.free();
      await stop(restarted);
    }
  });

  it('headless: a pickle key that does not open the stored Olm account stops the start with one line that holds no key', async () => {
    const dataDir = tempDir('olm-bad-key');
    const first = await startHeadless(server.url, dataDir);
    await waitFor(() => keysPublished(dataDir), 30_000, () => `keys never published: ${first.stderr.join('\n')}`);
    await stop(first);
    const otherKey = Buffer.alloc(32, 9).toString('base64');
    fs.writeFileSync(path.join(dataDir, PICKLE_KEY_FILE), `${otherKey}\n`, { mode: 0o600 });
    const refused = spawnHeadless(server.url, dataDir);
    expect((await refused.exited).code).toBe(2);
    expect(refused.stderr).toHaveLength(1);
    expect(refused.stderr[0]).toMatch(/does not open with this pickle key/);
    expect(refused.stderr.join('\n')).not.toContain(otherKey);
  });

  it('explicit-cas: main and a notifier starting together, with main\'s /keys/upload response held, leave one set of one-time keys', async () => {
    await server.admin.addFault(RECEIVER_USER, RECEIVER.deviceId, { kind: 'delay', count: 1, delay_ms: 3000, endpoint: 'keys/upload' });
    const dataDir = tempDir('olm-two-uploaders');
    const main = spawnHeadless(server.url, dataDir, { strategy: 'explicit-cas' });
    let notifier: RunningProcess | undefined;
    try {
      // The notifier starts as soon as the account is in the store: while main's upload is held, or before it began.
      await waitFor(
        () => {
          try {
            return withStore(dataDir, (store) => store.statement('SELECT 1 FROM account').get() !== undefined);
          } catch {
            return false;
          }
        },
        30_000,
        () => `no account stored: ${main.stderr.join('\n')}`,
      );
      notifier = startNotifier(dataDir, '$none:localhost', ROOM, {}, ['--strategy', 'explicit-cas']);
      expect((await notifier.exited).code).toBe(0);
      await waitFor(() => keysPublished(dataDir), 30_000, () => `keys never published: ${main.stderr.join('\n')}`);
      // The next sync's count is the server's own: one set of 50, none uploaded twice under another key.
      await waitFor(() => olmStats(dataDir).serverOneTimeKeys === 50, 20_000, () => JSON.stringify(olmStats(dataDir)));
      expect(olmStats(dataDir).oneTimeKeysUploaded).toBe(50);
      expect(await server.admin.listFaults()).toEqual([]); // the held response did happen
      const failures = [...main.stderr, ...notifier.stderr].filter((line) => line.includes('key upload failed'));
      expect(failures).toEqual([]);
    } finally {
      await stop(main);
    }
  });
});
