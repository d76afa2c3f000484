/**
 * Migration 0005: `store_counters`, the running totals that retention keeps when it removes rows.
 *
 * Runtime: node (applied by src/store/migrate.ts in one transaction with the `user_version` bump).
 *
 * Retention (src/store/retention-policy.ts) removes rows the dashboard's counters were computed from: handled
 * rows, notifications, timeline entries. Before it deletes them it adds what they counted to a total here, in
 * the same transaction, so "received", "duplicated" or "unable to decrypt" never go down because history was
 * pruned. Compaction's own figures live here too: inbox rows deleted, notifier rows skipped past its window, the
 * time of the last compaction. A row is (`scope`, `name`) → `value`, e.g. (`handled:main`, `rows`) or
 * (`inbox`, `deleted`).
 *
 * Switching an existing store to `auto_vacuum = INCREMENTAL` needs a VACUUM, which cannot run inside this
 * transaction; that is a separate step after the migrations (src/store/auto-vacuum.ts).
 */
export const migration0005 = {
  version: 5,
  name: 'retention',
  sql: `
CREATE TABLE store_counters (
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (scope, name)
) STRICT;
`,
} as const;
