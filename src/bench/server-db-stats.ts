/**
 * The homeserver's database as the soak reports it: file and WAL sizes and the rows of every table.
 *
 * Runtime: node. Reads through its own read-only connection (WAL readers never block the server's writer) and
 * `count(*)` per table, so it costs an index walk per table, not a read of the rows.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';

export interface ServerDbStats {
  fileBytes: number;
  walBytes: number;
  rows: Record<string, number>;
}

export function readServerDbStats(dbPath: string): ServerDbStats {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
    const rows = Object.fromEntries(tables.map(({ name }) => [name, (db.prepare(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`).get() as { n: number }).n]));
    return { fileBytes: sizeOf(dbPath), walBytes: sizeOf(`${dbPath}-wal`), rows };
  } finally {
    db.close();
  }
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
