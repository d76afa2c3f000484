/**
 * Everything a route handler may use, built once per running homeserver.
 *
 * Runtime: node (homeserver only).
 */
import type { Authenticator } from './auth';
import type { Db } from './db';
import type { DeviceWaiters } from './device-waiters';
import type { FaultRegistry } from './faults';
import type { PushSender } from './push-sender';
import type { ServerPruner } from './retention';
import type { SlidingSyncConnections } from './sliding-sync-connections';
import type { SyncTokens } from './sync-tokens';
import type { ToDeviceQueue } from './to-device-queue';

export interface HomeserverContext {
  db: Db;
  serverName: string;
  adminToken: string;
  /** Most to-device events one response carries, whatever `limit` asks (Synapse: 100). */
  batchCap: number;
  auth: Authenticator;
  queue: ToDeviceQueue;
  tokens: SyncTokens;
  waiters: DeviceWaiters;
  faults: FaultRegistry;
  connections: SlidingSyncConnections;
  pruner: ServerPruner;
  pushes: PushSender;
  log: (line: string) => void;
}
