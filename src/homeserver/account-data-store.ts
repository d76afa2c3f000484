/**
 * SQLite access for account data, global (`room_id` '') and per room, with a per-user change stream.
 *
 * Runtime: node (homeserver only).
 *
 * Each write gives the row the user's next stream id, so "what changed since position P" is one indexed range
 * read and sync can deliver exactly the changes a client has not seen (the latest content of each type, as the
 * spec's account data sections carry). Rows are replaced, never deleted, so a user's highest stream id only
 * grows. Writes join the caller's transaction.
 */
import type { Db } from './db';
import type { JsonObject } from './json-checks';

export interface AccountDataEvent {
  type: string;
  content: JsonObject;
}

export interface AccountDataChanges {
  global: AccountDataEvent[];
  rooms: Map<string, AccountDataEvent[]>;
}

interface AccountDataRow {
  room_id: string;
  type: string;
  content: string;
}

export class AccountDataStore {
  private readonly statements;

  constructor(db: Db) {
    this.statements = {
      upsert: db.prepare(
        `INSERT INTO account_data (user_id, room_id, type, content, stream_id)
         VALUES (?, ?, ?, ?, (SELECT coalesce(max(stream_id), 0) + 1 FROM account_data WHERE user_id = ?))
         ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = excluded.content, stream_id = excluded.stream_id`,
      ),
      get: db.prepare('SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?'),
      since: db.prepare('SELECT room_id, type, content FROM account_data WHERE user_id = ? AND stream_id > ? ORDER BY stream_id'),
      position: db.prepare('SELECT coalesce(max(stream_id), 0) AS position FROM account_data WHERE user_id = ?'),
    };
  }

  set(userId: string, roomId: string, type: string, content: JsonObject): void {
    this.statements.upsert.run(userId, roomId, type, JSON.stringify(content), userId);
  }

  get(userId: string, roomId: string, type: string): JsonObject | undefined {
    const row = this.statements.get.get(userId, roomId, type) as { content: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.content) as JsonObject);
  }

  /** Everything the user changed after `position` (everything when 0), split into global and per room. */
  changesSince(userId: string, position: number): AccountDataChanges {
    const changes: AccountDataChanges = { global: [], rooms: new Map() };
    for (const row of this.statements.since.all(userId, position) as AccountDataRow[]) {
      const event = { type: row.type, content: JSON.parse(row.content) as JsonObject };
      if (row.room_id === '') {
        changes.global.push(event);
        continue;
      }
      const list = changes.rooms.get(row.room_id) ?? [];
      list.push(event);
      changes.rooms.set(row.room_id, list);
    }
    return changes;
  }

  /** The user's latest account data stream id (0 when they have none). */
  position(userId: string): number {
    return (this.statements.position.get(userId) as { position: number }).position;
  }
}
