/**
 * How many bytes of the database file each table holds, its indexes included: where a store's size goes.
 *
 * Runtime: node (better-sqlite3's SQLite is built with the `dbstat` virtual table). Read-only, one read
 * transaction. It walks the b-tree pages in aggregate mode (one row per table or index, counted from the page
 * headers), so it costs a read of the whole file: milliseconds for a store of a few megabytes, which is why
 * `readStorageStats` (the dashboard reads it on every snapshot) does not call it and the soak does.
 * Free pages belong to no table (`PRAGMA freelist_count` counts them), nor do auto-vacuum's pointer-map pages
 * (one per `page_size / 5` pages of the file).
 */
import type { ClientStore } from './open-store';

/** Bytes per table (its indexes added to it), largest first; `sqlite_schema` is listed as such. */
export function tableBytes(store: ClientStore): Record<string, number> {
  const rows = store
    .statement(
      `SELECT coalesce(s.tbl_name, d.name) AS tbl, sum(d.pgsize) AS bytes
       FROM dbstat('main', 1) d LEFT JOIN sqlite_schema s ON s.name = d.name
       GROUP BY tbl ORDER BY bytes DESC, tbl`,
    )
    .all() as Array<{ tbl: string; bytes: number }>;
  return Object.fromEntries(rows.map((row) => [row.tbl, row.bytes]));
}
