/**
 * A read-only picture of the whole store, for `todevice inbox` and the dashboard.
 *
 * Runtime: node. Read in one transaction so the token, the lease, the cursors and the inbox are mutually
 * consistent (WAL gives the reader a snapshot; it never blocks a writer). The access token is left out: it has
 * no place on a screen or in JSON output.
 */
import { listCursors, type CursorRow } from './cursors';
import { inboxStats, latestInbox, listInbox, type InboxRow } from './inbox';
import { listLeases, type LeaseRow } from './lease';
import { listLegacyTokens } from './legacy-token';
import type { ClientStore } from './open-store';
import { readToken, type TokenState } from './token';
import { readAccount } from './account';

export interface StoreSnapshot {
  account: { homeserverUrl: string; userId: string; deviceId: string } | null;
  token: TokenState;
  leases: LeaseRow[];
  leaseWanted: Array<{ key: string; wanter: string; wantedAtMs: number }>;
  cursors: CursorRow[];
  inboxCount: number;
  inbox: InboxRow[];
  legacyTokens: Array<{ process: string; nextBatch: string | null; updatedAtMs: number }>;
}

export interface SnapshotOptions {
  /** List inbox rows after this seq (oldest first). */
  inboxAfterSeq?: number;
  /** Most inbox rows listed. Default 10,000. */
  inboxLimit?: number;
  /** List the newest `inboxLimit` rows (still oldest first) instead of the first ones after `inboxAfterSeq`. */
  inboxNewest?: boolean;
}

export function readStoreSnapshot(store: ClientStore, options: SnapshotOptions = {}): StoreSnapshot {
  return store.db.transaction((): StoreSnapshot => {
    const account = readAccount(store);
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
      inboxCount: inboxStats(store).count,
      inbox:
        options.inboxNewest === true
          ? latestInbox(store, options.inboxLimit ?? 10_000).reverse()
          : listInbox(store, { afterSeq: options.inboxAfterSeq, limit: options.inboxLimit ?? 10_000 }),
      legacyTokens: listLegacyTokens(store),
    };
  })();
}
