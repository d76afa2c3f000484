/**
 * Everything a route handler may use, built once per running homeserver.
 *
 * Runtime: node (homeserver only).
 */
import type { AccountDataStore } from './account-data-store';
import type { Authenticator } from './auth';
import type { Db } from './db';
import type { DeviceListStream } from './device-list-stream';
import type { DeviceWaiters } from './device-waiters';
import type { E2eKeyStore } from './e2e-key-store';
import type { FaultRegistry } from './faults';
import type { FilterStore } from './filter-store';
import type { ProfileStore } from './profile-store';
import type { PushSender } from './push-sender';
import type { ReceiptStore } from './receipt-store';
import type { RoomStore } from './room-store';
import type { ServerPruner } from './retention';
import type { SlidingSyncConnections } from './sliding-sync-connections';
import type { SyncTokens } from './sync-tokens';
import type { ToDeviceQueue } from './to-device-queue';
import type { TypingStore } from './typing-store';
import type { UserWaiters } from './user-waiters';

/** `todevice`: MSC4538 as DESIGN.md §3 reads it; `synapse`: Synapse's to-device extension, on purpose (synapse-to-device.ts). */
export type CompatMode = 'todevice' | 'synapse';

export interface HomeserverContext {
  db: Db;
  compat: CompatMode;
  serverName: string;
  adminToken: string;
  /** Most to-device events one response carries, whatever `limit` asks (Synapse: 100). */
  batchCap: number;
  auth: Authenticator;
  queue: ToDeviceQueue;
  /** Device, one-time and fallback keys (end-to-end encryption). */
  keys: E2eKeyStore;
  /** Which users' device keys changed after a position. */
  deviceLists: DeviceListStream;
  tokens: SyncTokens;
  waiters: DeviceWaiters;
  /** Room-side long-poll wake-ups, by user (room events, account data, receipts, typing). */
  userWaiters: UserWaiters;
  rooms: RoomStore;
  profiles: ProfileStore;
  filters: FilterStore;
  accountData: AccountDataStore;
  receipts: ReceiptStore;
  /** In memory: typing is ephemeral (see typing-store.ts). */
  typing: TypingStore;
  faults: FaultRegistry;
  connections: SlidingSyncConnections;
  pruner: ServerPruner;
  pushes: PushSender;
  log: (line: string) => void;
}
