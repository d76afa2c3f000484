// Homeserver retention on a database from before it: migration 0002 gives existing transaction records and
// connections the upgrade's time, so they live one full window from then, and the pruner removes them after.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../../src/homeserver/db';
import { MIGRATIONS } from '../../../src/homeserver/migrations';
import { ServerPruner } from '../../../src/homeserver/retention';

describe('homeserver retention', () => {
  it('retention: records from before the upgrade are kept one window from the upgrade, then pruned', () => {
    const db = new Database(':memory:');
    const first = MIGRATIONS.filter((m) => m.version === 1);
    migrate(db, first, ':memory:');
    db.prepare("INSERT INTO transactions (user_id, device_id, scope, txn_id, result) VALUES ('@a:x', 'D', 'sendToDevice/m.test', 't1', '{}')").run();
    db.prepare("INSERT INTO transactions (user_id, device_id, scope, txn_id, result) VALUES ('@a:x', 'D', 'rooms/!r:x/send/m.room.message', 't2', '$e')").run();
    db.prepare("INSERT INTO sliding_sync_connections (user_id, device_id, conn_id) VALUES ('@a:x', 'D', 'main')").run();
    db.prepare("INSERT INTO sliding_sync_positions (pos, connection_id, issued_seq) VALUES ('p1', 1, 1)").run();
    const beforeRoomSends = MIGRATIONS.filter((m) => m.version <= 3);
    migrate(db, beforeRoomSends, ':memory:');
    db.prepare("INSERT INTO sliding_sync_room_sends (connection_id, room_id, seq, position, membership) VALUES (1, '!r:x', 1, 3, 'join')").run();
    const upgradedMs = Date.now();
    migrate(db, MIGRATIONS, ':memory:');
    const created = db.prepare('SELECT created_ts FROM transactions').all() as Array<{ created_ts: number }>;
    for (const row of created) expect(Math.abs(row.created_ts - upgradedMs)).toBeLessThan(60_000);

    const pruner = new ServerPruner(db);
    expect(pruner.prune(upgradedMs + 29 * 60_000)).toEqual({ transactions: 0, slidingSyncConnections: 0, slidingSyncRoomSends: 0 });
    expect(pruner.prune(upgradedMs + 31 * 60_000)).toEqual({ transactions: 1, slidingSyncConnections: 0, slidingSyncRoomSends: 0 });
    expect(pruner.prune(upgradedMs + 25 * 3_600_000)).toEqual({ transactions: 1, slidingSyncConnections: 0, slidingSyncRoomSends: 0 });
    expect(pruner.prune(upgradedMs + 8 * 86_400_000)).toEqual({ transactions: 0, slidingSyncConnections: 1, slidingSyncRoomSends: 1 });
    db.close();
  });
});
