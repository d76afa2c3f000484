/**
 * A read-only picture of the whole store, for `todevice inbox` and the dashboard.
 *
 * Runtime: node. Read in one transaction so the token, the lease, the cursors and the inbox are mutually
 * consistent (WAL gives the reader a snapshot; it never blocks a writer). The access token is left out: it has
 * no place on a screen or in JSON output. Bounded however long the store lived: the newest `inboxLimit` rows
 * (default 200) and counts computed in SQL, never the whole inbox.
 */
import { listCursors, type CursorRow } from './cursors';
import { summarizeHandled, consumersWithHandled, type HandledSummary } from './handled';
import { inboxStats, latestInbox, type InboxRow, type InboxStats } from './inbox';
import { listLeases, type LeaseRow } from './lease';
import { listLegacyTokens } from './legacy-token';
import type { ClientStore } from './open-store';
import { readToken, type TokenState } from './token';
import { readAccount } from './account';
import { readOlmStats, type OlmStats } from './olm-stats';
import { readStorageStats, type StorageStats } from './storage-stats';

export const DEFAULT_SNAPSHOT_INBOX_ROWS = 200;

export interface StoreSnapshot {
  account: { homeserverUrl: string; userId: string; deviceId: string } | null;
  token: TokenState;
  leases: LeaseRow[];
  leaseWanted: Array<{ key: string; wanter: string; wantedAtMs: number }>;
  cursors: CursorRow[];
  inboxCount: number;
  inboxStats: InboxStats;
  /** The newest rows, oldest first. */
  inbox: InboxRow[];
  /** What each consumer handled over the store's life (pruned rows included, through their totals). */
  handled: Array<HandledSummary & { consumer: string }>;
  legacyTokens: Array<{ process: string; nextBatch: string | null; updatedAtMs: number }>;
  storage: StorageStats;
  /** The device's Olm figures (public keys and counters only). */
  olm: OlmStats;
}

export function readStoreSnapshot(store: ClientStore, options: { inboxLimit?: number } = {}): StoreSnapshot {
  return store.db.transaction((): StoreSnapshot => {
    const account = readAccount(store);
    const stats = inboxStats(store);
    const wanted = store.statement('SELECT key, wanter, wanted_at_ms FROM lease_wanted ORDER BY key, wanter').all() as Array<{
      key: string;
      wanter: string;
      wanted_at_ms: number;
    }>;
    return {
      account: account === undefined ? null : { homeserverUrl: account.homeserverUrl, userId: account.userId, deviceId: account.deviceId },
      token: readToken(store),
      leases: listLeases(store),
      leaseWanted: wanted.map((row) => ({ key: row.key, wanter: row.wanter, wantedAtMs: row.wanted_at_ms })),
      cursors: listCursors(store),
      inboxCount: stats.count,
      inboxStats: stats,
      inbox: latestInbox(store, options.inboxLimit ?? DEFAULT_SNAPSHOT_INBOX_ROWS).reverse(),
      handled: consumersWithHandled(store).map((consumer) => ({ consumer, ...summarizeHandled(store, consumer) })),
      legacyTokens: listLegacyTokens(store),
      storage: readStorageStats(store),
      olm: readOlmStats(store),
    };
  })();
}
