// Migration `olm-hash-runs`: a store from before it upgrades in place, keeps the message hashes it had (still
// found, still pruned), and takes new hashes as runs, one row per sender key and decrypting commit.
import { describe, expect, it } from 'vitest';
import { messageHash } from '../../../../src/crypto/olm-decrypt';
import { isOlmMessageKnown, pruneOlmMessageHashes, rememberOlmMessages } from '../../../../src/store/olm-bookkeeping';
import { openStore } from '../../../../src/store/open-store';
import { databaseBefore } from './database-before';

describe('migration olm-hash-runs', () => {
  it('migration olm-hash-runs: hashes written before it are still known, new ones are one row per run, both prune by age', () => {
    const { file, db, migration: runs } = databaseBefore('olm-hash-runs');
    expect(runs.version).toBe(7);
    const old = messageHash('K', 0, 'old message');
    db.prepare('INSERT INTO olm_message_hashes (sender_key, message_hash, decrypted_at_ms) VALUES (?, ?, ?)').run('K', old, 10);
    db.close();
    const store = openStore(file);
    try {
      expect(isOlmMessageKnown(store, 'K', old)).toBe(true);
      const batch = ['a', 'b', 'c'].map((body) => messageHash('K', 1, body));
      rememberOlmMessages(store, 'K', batch, 20);
      expect(store.db.prepare('SELECT COUNT(*) AS n FROM olm_message_hash_runs').get()).toEqual({ n: 1 });
      expect(store.db.prepare('SELECT COUNT(*) AS n FROM olm_message_hashes').get()).toEqual({ n: 1 });
      expect(batch.every((hash) => isOlmMessageKnown(store, 'K', hash))).toBe(true);
      expect(() => store.db.prepare("INSERT INTO olm_message_hash_runs (sender_key, decrypted_at_ms, hashes) VALUES ('K', 1, x'00')").run()).toThrow(/CHECK/);
      expect(pruneOlmMessageHashes(store, 15)).toBe(1);
      expect(isOlmMessageKnown(store, 'K', old)).toBe(false);
      expect(pruneOlmMessageHashes(store, 25)).toBe(3);
      expect(isOlmMessageKnown(store, 'K', batch[0] ?? '')).toBe(false);
    } finally {
      store.close();
    }
  });
});
