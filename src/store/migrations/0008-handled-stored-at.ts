/**
 * Migration 0008: `handled.stored_at_ms`, when the row a consumer handled was committed to the inbox.
 *
 * Runtime: node (applied by src/store/migrate.ts in one transaction with the `user_version` bump).
 *
 * A message's delivery latency (`sent_at_ms` to `handled_at_ms`) has two parts that say different things: the
 * time until some process fetched it and committed it to the shared inbox (what the sync strategy decides: who
 * may fetch, who waits for the lease, how faults are retried), and the time from there until this consumer
 * handled it (whether the consumer's process was running). Copying the inbox row's `received_at_ms` into the
 * consumer's `handled` row keeps both once the inbox row itself is compacted away. Null in rows written before
 * this migration.
 */
export const migration0008 = {
  version: 8,
  name: 'handled-stored-at',
  sql: `
ALTER TABLE handled ADD COLUMN stored_at_ms INTEGER;
`,
} as const;
