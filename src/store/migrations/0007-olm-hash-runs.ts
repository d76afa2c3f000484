/**
 * Migration 0007: the hashes of decrypted Olm messages kept as runs, one row per sender key and decryption pass.
 *
 * Runtime: node (applied by src/store/migrate.ts in one transaction with the `user_version` bump).
 *
 * - `olm_message_hash_runs`: the SHA-256 digests (32 bytes each, concatenated in `hashes`) of the Olm messages
 *   of one sender key that one decrypting commit decrypted. `olm_message_hashes` (0004) held one row per message
 *   keyed by the hash, so the hundred messages of a batch went to a hundred random places of its B-tree: every
 *   commit dirtied a page per message, which the commit wrote to the WAL and fsynced and the checkpoint copied
 *   back, several times the bytes of the batch's own inbox rows. A run is appended at the end of its table. The
 *   hashes are read only when a message fails to decrypt (was it one we decrypted before?), by the sender key's
 *   index, so the lookup reads that sender's runs instead of one B-tree path: the rare path pays, not every
 *   commit.
 * - `olm_message_hashes` stays: its rows, written before this migration, are still looked up and pruned. Nothing
 *   new is written to it.
 */
export const migration0007 = {
  version: 7,
  name: 'olm-hash-runs',
  sql: `
CREATE TABLE olm_message_hash_runs (
  run_id INTEGER PRIMARY KEY,
  sender_key TEXT NOT NULL,
  decrypted_at_ms INTEGER NOT NULL,
  hashes BLOB NOT NULL CHECK (length(hashes) > 0 AND length(hashes) % 32 = 0)
) STRICT;

CREATE INDEX olm_message_hash_runs_by_sender ON olm_message_hash_runs (sender_key);
`,
};
