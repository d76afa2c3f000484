/**
 * How big `client.db` gets as messages are handled, with the store's retention and without it: the measurement
 * behind the README's "a store that lives for months" figures (`node scripts/store-growth.mjs`).
 *
 * Runtime: node. The real path, one process: a `todevice serve` homeserver process (src/bench/bench-world.ts),
 * messages queued for the device 1,000 at a time through the homeserver's own queue, the `explicit-lease`
 * engine draining them into the store at `synchronous = FULL`, the `main` consumer after every round (room keys
 * and `handled` rows, as the main process does), a notifier pass every five rounds (its consume with its
 * window, as a notifier run does), and the main process's maintenance step after every round. On a device
 * the 1,000 messages of a round arrive over minutes at least, so maintenance's clock advances a minute per round
 * (its slow tasks, every 30 s, come due every round); drained at full speed on the real clock they would run a
 * handful of times in the whole measurement, which no long-lived store sees. Two conditions on two devices: the
 * default retention, and everything kept (no compaction, no pruning: what the store did before retention
 * existed). At every `pointEvery` messages it records the database file and WAL sizes, the free pages inside the
 * file, and the rows per table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { consumeInbox } from '../engine/consumer';
import { applyInboxEffects } from '../engine/inbox-effects';
import { noKillPoints } from '../engine/kill-points';
import { MatrixClient } from '../engine/matrix-client';
import { SyncEngine } from '../engine/sync-engine';
import { realSleep, seededRandom } from '../engine/timing';
import { consumeMain } from '../main/host/main-consumer';
import { systemClock } from '../shared/clock';
import { CLIENT_DB_FILE } from '../shared/data-layout';
import { saveAccount } from '../store/account';
import { NOTIFIER_CONSUMER } from '../store/cursors';
import { StoreMaintenance } from '../store/maintenance';
import { openStore, type ClientStore } from '../store/open-store';
import { KEEP_ALL, retentionPolicyOf, writeRetentionPolicy, type RetentionOptions } from '../store/retention-policy';
import { readStorageStats, type StorageStats } from '../store/storage-stats';
import { tableBytes } from '../store/table-bytes';
import { checkpointPassive } from '../store/wal-checkpoint';
import { startBenchWorld, type BenchWorld } from './bench-world';

export type GrowthCondition = 'retention' | 'keep-everything';

export interface GrowthPoint {
  handled: number;
  fileBytes: number;
  walBytes: number;
  freePages: number;
  rows: StorageStats['rows'];
  /** Bytes of the database file per table, indexes included (src/store/table-bytes.ts). */
  tableBytes: Record<string, number>;
  removedInboxRows: number;
  notifierRowsSkipped: number;
}

export interface GrowthRun {
  condition: GrowthCondition;
  points: GrowthPoint[];
  /** The largest WAL file seen after any round. */
  walPeakBytes: number;
  elapsedMs: number;
}

const ROUND_MESSAGES = 1000;
/** How much time maintenance sees pass per round (see the module header). */
const ROUND_SIMULATED_MS = 60_000;
const NOTIFIER_EVERY_ROUNDS = 5;

const KEEP_EVERYTHING: RetentionOptions = {
  inbox: KEEP_ALL, notifierWindow: KEEP_ALL, handled: KEEP_ALL, eventLog: KEEP_ALL, notifications: KEEP_ALL, timeline: KEEP_ALL,
};

export async function measureStoreGrowth(options: {
  messages: number;
  pointEvery: number;
  log: (line: string) => void;
  conditions?: readonly GrowthCondition[];
}): Promise<GrowthRun[]> {
  const world = await startBenchWorld();
  try {
    const runs: GrowthRun[] = [];
    for (const condition of options.conditions ?? (['retention', 'keep-everything'] as const)) runs.push(await growOne(world, condition, options));
    return runs;
  } finally {
    await world.close();
  }
}

async function growOne(world: BenchWorld, condition: GrowthCondition, options: { messages: number; pointEvery: number; log: (line: string) => void }): Promise<GrowthRun> {
  const deviceId = `GROWTH-${condition.toUpperCase()}`;
  const account = await world.device(deviceId);
  const dir = path.join(world.dir, deviceId);
  fs.mkdirSync(dir, { recursive: true });
  const store = openStore(path.join(dir, CLIENT_DB_FILE));
  const startedMs = performance.now();
  try {
    saveAccount(store, account);
    writeRetentionPolicy(store, condition === 'retention' ? {} : KEEP_EVERYTHING);
    const engine = new SyncEngine({
      store, client: new MatrixClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken }), clock: systemClock, sleep: realSleep,
      random: seededRandom(1), strategy: 'explicit-lease', processName: 'main', pid: process.pid, limit: 100,
    });
    let simulatedMs = Date.now();
    const maintenance = condition === 'retention' ? new StoreMaintenance({ store, clock: { nowMs: () => simulatedMs } }) : undefined;
    const run: GrowthRun = { condition, points: [], walPeakBytes: 0, elapsedMs: 0 };
    for (let sent = 0, round = 0; sent < options.messages; round += 1) {
      const count = Math.min(ROUND_MESSAGES, options.messages - sent);
      world.queueBacklog(deviceId, count, sent);
      sent += count;
      const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: 1000, maxBatches: count });
      if (summary.kind !== 'caught-up') throw new Error(`store growth: the drain ended ${summary.kind}`);
      consumeMain(store, 'explicit-lease', noKillPoints, options.log);
      if (round % NOTIFIER_EVERY_ROUNDS === NOTIFIER_EVERY_ROUNDS - 1) notifierPass(store);
      simulatedMs += ROUND_SIMULATED_MS;
      maintenance?.step();
      run.walPeakBytes = Math.max(run.walPeakBytes, readStorageStats(store).walBytes);
      if (sent % options.pointEvery === 0) {
        run.points.push(growthPointOf(store, sent));
        options.log(`${condition}: ${sent} messages handled, client.db ${mib(run.points.at(-1)?.fileBytes ?? 0)} MiB`);
      }
    }
    run.elapsedMs = performance.now() - startedMs;
    return run;
  } finally {
    store.close();
  }
}

/** What one notifier run does to the store: consume its cursor, its window first. */
function notifierPass(store: ClientStore): void {
  consumeInbox({
    store,
    consumer: NOTIFIER_CONSUMER,
    strategy: 'explicit-lease',
    processName: NOTIFIER_CONSUMER,
    maxRows: 10_000,
    window: retentionPolicyOf(store).notifierWindow,
    handler: (row, db) => void applyInboxEffects(db, NOTIFIER_CONSUMER, row, systemClock.nowMs()),
  });
}

/**
 * The store's size and rows once `handled` messages went through it; also what the soak (soak.ts) records, from
 * its own connection while the main process runs (a passive checkpoint never waits for, nor blocks, a writer).
 */
export function growthPointOf(store: ClientStore, handled: number): GrowthPoint {
  // Sizes as they settle: the WAL's pages copied back, as the engine's next checkpoint would.
  checkpointPassive(store);
  const stats = readStorageStats(store);
  return {
    handled,
    fileBytes: stats.fileBytes,
    walBytes: stats.walBytes,
    freePages: stats.freePages,
    rows: stats.rows,
    tableBytes: tableBytes(store),
    removedInboxRows: stats.removed.inboxRows,
    notifierRowsSkipped: stats.removed.notifierRowsSkipped,
  };
}

export function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** The table the script prints: one row per point, both conditions side by side. */
export function growthTable(runs: readonly GrowthRun[]): string {
  const [kept, all] = runs;
  if (kept === undefined || all === undefined) return '';
  const lines = [
    'messages | retention: client.db  (free)   WAL  inbox  handled  event_log | keep everything: client.db  WAL  inbox  handled',
  ];
  kept.points.forEach((point, i) => {
    const other = all.points[i];
    lines.push(
      `${String(point.handled).padStart(8)} | ${mib(point.fileBytes).padStart(7)} MiB (${mib(point.freePages * 4096).padStart(4)}) ${mib(point.walBytes).padStart(5)} ${String(point.rows.inbox).padStart(6)} ` +
        `${String(point.rows.handled).padStart(8)} ${String(point.rows.eventLog).padStart(10)} | ` +
        `${mib(other?.fileBytes ?? 0).padStart(7)} MiB ${mib(other?.walBytes ?? 0).padStart(5)} ${String(other?.rows.inbox ?? 0).padStart(6)} ${String(other?.rows.handled ?? 0).padStart(8)}`,
    );
  });
  lines.push(`WAL peak: retention ${mib(kept.walPeakBytes)} MiB, keep everything ${mib(all.walPeakBytes)} MiB; ` +
    `time: ${(kept.elapsedMs / 1000).toFixed(0)} s and ${(all.elapsedMs / 1000).toFixed(0)} s`);
  return `${lines.join('\n')}\n`;
}
