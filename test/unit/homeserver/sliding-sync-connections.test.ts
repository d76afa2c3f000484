import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/homeserver/db';
import { LAST_USED_GRANULARITY_MS, SlidingSyncConnections } from '../../../src/homeserver/sliding-sync-connections';

describe('sliding sync connections', () => {
  it('connections: a request records how far the client got every time, and when it was used once that is a granularity old', () => {
    const { db, tokenSecret } = openDatabase(':memory:', 'hs');
    const connections = new SlidingSyncConnections(db, tokenSecret);
    const state = connections.open('@a:hs', 'D1', 'main');
    const row = () => db.prepare('SELECT acked_pos_seq, last_used_ts FROM sliding_sync_connections WHERE connection_id = ?').get(state.connectionId) as { acked_pos_seq: number; last_used_ts: number };
    const openedAtMs = row().last_used_ts;
    expect(openedAtMs).toBe(state.lastUsedMs);

    connections.saveSticky({ ...state, lastUsedMs: openedAtMs }, 1);
    expect(row()).toEqual({ acked_pos_seq: 1, last_used_ts: openedAtMs });

    const staleMs = openedAtMs - LAST_USED_GRANULARITY_MS;
    db.prepare('UPDATE sliding_sync_connections SET last_used_ts = ? WHERE connection_id = ?').run(staleMs, state.connectionId);
    const beforeMs = Date.now();
    connections.saveSticky({ ...state, lastUsedMs: staleMs }, 2);
    expect(row().acked_pos_seq).toBe(2);
    expect(row().last_used_ts).toBeGreaterThanOrEqual(beforeMs);
  });
});
