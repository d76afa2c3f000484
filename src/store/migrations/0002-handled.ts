/**
 * Migration 0002: `handled`, the durable effect a consumer records for each inbox row it handled.
 *
 * Runtime: node (applied by src/store/migrate.ts in one transaction with the `user_version` bump).
 *
 * A consumer writes its `handled` row in the same transaction that advances its cursor (src/store/consume.ts),
 * so the table says exactly which rows each consumer handled, once each. The dashboard and the harness count
 * received, duplicated and lost messages from it, and measure delivery latency with `handled_at_ms`. `tag` is
 * the content's `tag` field when it is a string (the harness and the demo tag every message uniquely).
 */
export const migration0002 = {
  version: 2,
  name: 'handled',
  sql: `
CREATE TABLE handled (
  consumer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  tag TEXT,
  sent_at_ms INTEGER,
  handled_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer, seq)
) STRICT;

CREATE INDEX handled_by_tag ON handled (consumer, tag);
`,
} as const;
