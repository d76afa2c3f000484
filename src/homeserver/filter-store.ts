/**
 * SQLite access for uploaded sync filters: numbered per user from 0, as Synapse numbers them, and immutable.
 *
 * Runtime: node (homeserver only).
 */
import type { Db } from './db';
import type { SyncFilter } from './sync-filter';
import { immediate } from './db';

export class FilterStore {
  private readonly statements;

  constructor(private readonly db: Db) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO filters (user_id, filter_id, definition)
         VALUES (?, (SELECT coalesce(max(filter_id) + 1, 0) FROM filters WHERE user_id = ?), ?) RETURNING filter_id`,
      ),
      get: db.prepare('SELECT definition FROM filters WHERE user_id = ? AND filter_id = ?'),
    };
  }

  add(userId: string, definition: unknown): number {
    return immediate(this.db, () => (this.statements.insert.get(userId, userId, JSON.stringify(definition)) as { filter_id: number }).filter_id);
  }

  /** The stored definition, or undefined when the user has no such filter. */
  get(userId: string, filterId: number): SyncFilter | undefined {
    const row = this.statements.get.get(userId, filterId) as { definition: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.definition) as SyncFilter);
  }
}

