// Migration 0004 (`olm`): a version-3 store with inbox rows and room keys upgrades in place; old rows carry no
// decryption metadata, new rows keep it; the account version can only grow.
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migration0001 } from '../../../../src/store/migrations/0001-initial';
import { migration0002 } from '../../../../src/store/migrations/0002-handled';
import { migration0003 } from '../../../../src/store/migrations/0003-encryption';
import { LATEST_SCHEMA_VERSION } from '../../../../src/store/migrations/registry';
import { appendToInbox, listInbox, markUndecryptedResolved, undecryptedInbox } from '../../../../src/store/inbox';
import { insertOlmAccount } from '../../../../src/store/olm-account';
import { openStore } from '../../../../src/store/open-store';
import { roomKeyCount } from '../../../../src/store/room-keys';
import { tempDir, tempStore } from '../temp-store';

const origin = { receivedAtMs: 5, process: 'main', pid: 1, batchSince: null, batchNextBatch: 'n1' };

describe('migration 0004-olm', () => {
  it('migration 0004: a version-3 store with inbox rows and room keys upgrades and keeps them', () => {
    const file = path.join(tempDir(), 'v3.sqlite');
    const v3 = new Database(file);
    for (const migration of [migration0001, migration0002, migration0003]) v3.exec(migration.sql);
    v3.pragma('user_version = 3');
    v3.prepare(
      `INSERT INTO inbox (type, sender, content, received_at_ms, fetched_by_process, fetched_by_pid, batch_since, batch_next_batch)
       VALUES ('org.todevice.room_key', '@a:x', '{"tag":"t1"}', 1, 'main', 1, NULL, '1_x')`,
    ).run();
    v3.prepare(`INSERT INTO room_keys (session_id, stored_by, room_id, room_key, inbox_seq, stored_at_ms) VALUES ('s', 'main', '!r:x', '{}', 1, 1)`).run();
    v3.close();

    const store = openStore(file);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
      const [row] = listInbox(store);
      expect(row).toEqual({
        seq: 1,
        type: 'org.todevice.room_key',
        sender: '@a:x',
        content: { tag: 't1' },
        receivedAtMs: 1,
        fetchedByProcess: 'main',
        fetchedByPid: 1,
        batchSince: null,
        batchNextBatch: '1_x',
      });
      expect(roomKeyCount(store)).toBe(1);
      expect(store.db.prepare('SELECT count(*) AS n FROM olm_account').get()).toEqual({ n: 0 });
    } finally {
      store.close();
    }
  });

  it('migration 0004: rows keep their decryption error or encryption; undecrypted ones are listed until resolved', () => {
    const store = tempStore();
    const encryption = { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'k', session_id: 's', sender_device_id: 'D', sender_ed25519: 'e' };
    const seqs = appendToInbox(
      store,
      [
        { type: 'm.room_key', sender: '@a:x', content: { n: 1 }, encryption },
        { type: 'm.room.encrypted', sender: '@a:x', content: { n: 2 }, decryptionError: 'unknown-device' },
        { type: 'm.test', sender: '@a:x', content: { n: 3 } },
      ],
      origin,
    );
    expect(seqs).toEqual({ firstSeq: 1, lastSeq: 3 });
    const rows = listInbox(store);
    expect(rows[0]?.encryption).toEqual(encryption);
    expect(rows[0]?.decryptionError).toBeUndefined();
    expect(rows[1]?.decryptionError).toBe('unknown-device');
    expect(rows[2]).not.toHaveProperty('encryption');
    expect(rows[2]).not.toHaveProperty('decryptionError');

    expect(undecryptedInbox(store, 'unknown-device')).toEqual([{ seq: 2, event: { type: 'm.room.encrypted', sender: '@a:x', content: { n: 2 } } }]);
    expect(undecryptedInbox(store, 'bad-mac')).toEqual([]);
    markUndecryptedResolved(store, 2, 4);
    expect(undecryptedInbox(store, 'unknown-device')).toEqual([]);
  });

  it('migration 0004: the account row is one row whose version must grow', () => {
    const store = tempStore();
    const record = {
      userId: '@u:x',
      deviceId: 'D',
      curve25519: 'c',
      ed25519: 'e',
      pickle: 'p',
      version: 1,
      deviceKeysPublished: false,
      fallbackKeyCreatedAtMs: null,
      previousFallbackExpiresAtMs: null,
      uploadClaimedBy: null,
      uploadClaimExpiresAtMs: null,
      createdAtMs: 1,
      updatedAtMs: 1,
    };
    expect(insertOlmAccount(store, record)).toBe(true);
    expect(insertOlmAccount(store, { ...record, pickle: 'other' })).toBe(false);
    expect(() => store.db.prepare('UPDATE olm_account SET pickle = ? WHERE id = 1').run('x')).toThrow(/version must grow/);
  });
});
