/**
 * The reference homeserver: `startHomeserver` opens the database, wires the routes and listens.
 *
 * Runtime: node (homeserver only). Imports only src/shared, node built-ins and better-sqlite3: it is the
 * oracle the client is tested against and must not share the client's code or its mistakes.
 *
 * Guarantees: all protocol state (accounts, queues, acknowledgements, counters, idempotency records, rooms and
 * their state, filters, profiles, account data, receipts, presence, pushers, sliding sync connections,
 * end-to-end encryption keys, the device list stream) is in SQLite, so closing and starting again on the same
 * file loses nothing a client was told succeeded. Idempotency records and idle connections are pruned after
 * Synapse's windows by a pass every minute (retention.ts), so those tables do not grow with the server's age.
 * Only fault injection, long-poll waiters and typing notifications (ephemeral by definition) are in memory.
 * `close()` ends long polls and pending pushes, clears typing timers, closes every connection, then the database.
 *
 * @example
 *   const server = await startHomeserver({ dbPath: ':memory:' });
 *   console.log(server.url); // http://127.0.0.1:54321
 *   await server.close();
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TO_DEVICE_BATCH_CAP } from '../shared/wire';
import { AccountDataStore } from './account-data-store';
import { accountDataRoutes } from './account-data-routes';
import { accountRoutes } from './account-routes';
import { adminRoutes } from './admin-routes';
import { Authenticator } from './auth';
import { capabilitiesRoutes } from './capabilities-routes';
import { classicSyncRoutes } from './classic-sync-route';
import type { CompatMode, HomeserverContext } from './context';
import { openDatabase } from './db';
import { DeviceListStream } from './device-list-stream';
import { DeviceWaiters } from './device-waiters';
import { createDispatcher } from './dispatcher';
import { E2eKeyStore } from './e2e-key-store';
import { FaultRegistry } from './faults';
import { keysRoutes } from './keys-routes';
import { filterRoutes } from './filter-routes';
import { FilterStore } from './filter-store';
import { ProfileStore } from './profile-store';
import { presenceRoutes } from './presence-routes';
import { profileRoutes } from './profile-routes';
import { pushRuleRoutes } from './push-rule-routes';
import { PushSender } from './push-sender';
import { DEFAULT_PRUNE_INTERVAL_MS, DEFAULT_SERVER_RETENTION, ServerPruner, type ServerRetention } from './retention';
import { pusherRoutes } from './pusher-routes';
import { ReceiptStore } from './receipt-store';
import { roomEphemeralRoutes } from './room-ephemeral-routes';
import { roomRoutes } from './room-routes';
import { roomStateRoutes } from './room-state-routes';
import { RoomStore } from './room-store';
import { Router } from './router';
import { sendToDeviceRoutes } from './send-to-device-route';
import { SlidingSyncConnections } from './sliding-sync-connections';
import { slidingSyncRoutes } from './sliding-sync-route';
import { SyncTokens } from './sync-tokens';
import { ToDeviceQueue } from './to-device-queue';
import { TypingStore } from './typing-store';
import { UserWaiters } from './user-waiters';

export interface HomeserverOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** SQLite file, or `:memory:` for a throwaway server. */
  dbPath: string;
  /** The `:server` part of user and room IDs. Default `localhost`. Fixed for the life of a database. */
  serverName?: string;
  /** Opens `/_todevice/admin/...`. Default: random, exposed on the handle. */
  adminToken?: string;
  /** Most to-device events per response. Default 100 (Synapse). */
  batchCap?: number;
  /**
   * `synapse` answers the sliding sync to-device extension as Synapse does, differences included
   * (synapse-to-device.ts). Default `todevice`.
   */
  compat?: CompatMode;
  /** Receives one line per notable event (unexpected errors, push failures, faults). Default: stderr. */
  log?: (line: string) => void;
  /** How long transaction IDs and idle sliding sync connections are kept (defaults: Synapse's, retention.ts). */
  retention?: Partial<ServerRetention>;
  /** How often the retention pass runs. Default 60 s. */
  pruneIntervalMs?: number;
}

export interface RunningHomeserver {
  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  url: string;
  port: number;
  serverName: string;
  adminToken: string;
  compat: CompatMode;
  close(): Promise<void>;
}

export async function startHomeserver(options: HomeserverOptions): Promise<RunningHomeserver> {
  const host = options.host ?? '127.0.0.1';
  const serverName = options.serverName ?? 'localhost';
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const batchCap = options.batchCap ?? TO_DEVICE_BATCH_CAP;
  if (!Number.isInteger(batchCap) || batchCap <= 0) throw new Error(`batchCap must be a positive integer, got ${batchCap}`);
  const { db, tokenSecret } = openDatabase(options.dbPath, serverName);
  const shutdown = new AbortController();
  const pruner = new ServerPruner(db, { ...DEFAULT_SERVER_RETENTION, ...options.retention });
  const compat = options.compat ?? 'todevice';
  const ctx = buildContext({ db, tokenSecret, serverName, batchCap, compat, log, adminToken: options.adminToken, pruner });
  const router = new Router();
  const routeGroups = [
    accountRoutes,
    capabilitiesRoutes,
    sendToDeviceRoutes,
    slidingSyncRoutes,
    classicSyncRoutes,
    roomRoutes,
    roomStateRoutes,
    roomEphemeralRoutes,
    pushRuleRoutes,
    filterRoutes,
    profileRoutes,
    accountDataRoutes,
    presenceRoutes,
    pusherRoutes,
    keysRoutes,
    adminRoutes,
  ];
  for (const routes of routeGroups) {
    router.add(routes(ctx));
  }
  const server = createServer(createDispatcher({ router, log, serverSignal: shutdown.signal }));
  try {
    await listen(server, host, options.port ?? 0);
  } catch (error) {
    db.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const pruneTimer = setInterval(() => pruneQuietly(ctx), options.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS);
  pruneTimer.unref();
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(pruneTimer);
      shutdown.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ctx.pushes.close();
      ctx.typing.close();
      db.close();
    })();
    return closing;
  };
  return { url: `http://${urlHost}:${port}`, port, serverName, adminToken: ctx.adminToken, compat, close };
}

function buildContext(parts: {
  db: HomeserverContext['db'];
  tokenSecret: string;
  serverName: string;
  batchCap: number;
  compat: CompatMode;
  log: (line: string) => void;
  adminToken: string | undefined;
  pruner: ServerPruner;
}): HomeserverContext {
  const { db, log } = parts;
  const removePusher = db.prepare('DELETE FROM pushers WHERE pushkey = ? AND json_extract(data, \'$.url\') = ?');
  const deviceLists = new DeviceListStream(db);
  const userWaiters = new UserWaiters();
  const profiles = new ProfileStore(db);
  const rooms = new RoomStore(db, profiles, userWaiters);
  return {
    db,
    serverName: parts.serverName,
    adminToken: parts.adminToken ?? randomBytes(24).toString('base64url'),
    batchCap: parts.batchCap,
    compat: parts.compat,
    auth: new Authenticator(db),
    queue: new ToDeviceQueue(db, { onSweepError: (error) => log(`homeserver: deleting acknowledged to-device rows failed (they go with the next sweep): ${String(error)}`) }),
    keys: new E2eKeyStore(db, deviceLists),
    deviceLists,
    tokens: new SyncTokens(parts.tokenSecret),
    waiters: new DeviceWaiters(),
    userWaiters,
    rooms,
    profiles,
    filters: new FilterStore(db),
    accountData: new AccountDataStore(db),
    receipts: new ReceiptStore(db),
    typing: new TypingStore((roomId) => rooms.notifyMembers(roomId)),
    faults: new FaultRegistry(),
    connections: new SlidingSyncConnections(db, parts.tokenSecret),
    pruner: parts.pruner,
    pushes: new PushSender(log, (pushkey, url) => {
      if (!db.open) return;
      removePusher.run(pushkey, url);
      log(`push: gateway ${url} rejected pushkey ${pushkey}; pusher removed`);
    }),
    log,
  };
}

/** The timer's pass: a busy database (a bench connection holding the write lock) only delays it to the next. */
function pruneQuietly(ctx: HomeserverContext): void {
  if (!ctx.db.open) return;
  try {
    ctx.pruner.prune(Date.now());
  } catch (error) {
    ctx.log(`retention: pass skipped: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
