/**
 * Part of case 3: the lease handoff alone, without process start-up. A main engine long-polls holding the lease
 * (`run`, `explicit-lease`); a notifier engine on a second connection to the same store asks for it and syncs
 * until caught up (`syncUntilCaughtUp`, as a notifier process does), timed from the ask to caught-up. That time is
 * main noticing the wish and giving way, the notifier noticing the release, one request and its commit.
 *
 * Measured two ways, alternated run by run: with the store-change hints every real process uses
 * (src/engine/store-changes.ts: the polls check again at the other side's commit), and with the polls alone,
 * every 25 ms (`leasePollIntervalMs`'s default). Both engines are built as the real processes build theirs
 * (`createProcessEngine`) and run in the bench process, on the store file a real pair would share, against the
 * bench's homeserver process.
 *
 * Runtime: node.
 */
import path from 'node:path';
import { createProcessEngine } from '../engine/create-engine';
import { NO_STORE_CHANGES, watchStoreChanges, type StoreChanges } from '../engine/store-changes';
import type { SyncEngine } from '../engine/sync-engine';
import { realSleep } from '../engine/timing';
import type { Account } from '../store/account';
import { openStore, type ClientStore } from '../store/open-store';
import type { BenchWorld } from './bench-world';
import type { Figure } from './bench-types';
import { nowMs, percentile } from './stats';

/** Pause between handoffs, so main is back in its long poll and the store is quiet when the next one starts. */
const SETTLE_BETWEEN_MS = 100;
const LEASE_WAIT_MS = 5000;

/** An engine as a real process builds it (create-engine.ts), with the hints or with none. */
function engineFor(store: ClientStore, account: Account, processName: string, changes: StoreChanges): SyncEngine {
  const tuning = { longPollTimeoutMs: 30_000, logEvents: false };
  return createProcessEngine({ store, account, processName, strategy: 'explicit-lease', env: {}, storeChanges: changes, tuning }).engine;
}

/** Milliseconds of `count` handoffs from a long-polling main to a notifier, hints on or off. */
async function handoffs(world: BenchWorld, count: number, hints: boolean, label: string): Promise<number[]> {
  const account = await world.device(`HANDOFF-${label}`);
  const file = path.join(world.dir, `lease-handoff-${label}.db`);
  // Two connections, as two processes would have, each with its own watch when hints are on.
  const mainStore = openStore(file);
  const notifierStore = openStore(file);
  const mainChanges = hints ? watchStoreChanges(file) : NO_STORE_CHANGES;
  const notifierChanges = hints ? watchStoreChanges(file) : NO_STORE_CHANGES;
  const main = engineFor(mainStore, account, 'main', mainChanges);
  const stop = new AbortController();
  const running = main.run(stop.signal);
  const samplesMs: number[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      await realSleep(SETTLE_BETWEEN_MS);
      const notifier = engineFor(notifierStore, account, 'notifier', notifierChanges);
      const startMs = nowMs();
      const summary = await notifier.syncUntilCaughtUp({ leaseWaitMs: LEASE_WAIT_MS });
      if (summary.kind !== 'caught-up') throw new Error(`bench: lease handoff ${i} ended ${summary.kind}, not caught up`);
      samplesMs.push(nowMs() - startMs);
    }
  } finally {
    stop.abort();
    await running;
    mainChanges.close();
    notifierChanges.close();
    notifierStore.close();
    mainStore.close();
  }
  return samplesMs;
}

export async function leaseHandoffFigures(world: BenchWorld, samples: number, rounds: number): Promise<Figure[]> {
  const perRound = Math.max(1, Math.round(samples / rounds));
  const hinted: number[] = [];
  const polled: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? [true, false] : [false, true];
    for (const hints of order) {
      (hints ? hinted : polled).push(...(await handoffs(world, perRound, hints, `${hints ? 'HINTS' : 'POLLS'}-${round}`)));
    }
  }
  const note = `${hinted.length} handoffs per condition, ${rounds} alternated rounds; two engines in the bench process`;
  return [
    {
      caseNumber: 3, name: 'lease handoff to caught-up p50, main long-polling', value: percentile(hinted, 50),
      baselineName: 'polls alone (every 25 ms) p50', baseline: percentile(polled, 50), unit: 'ms', better: 'lower',
      target: { op: '<=', ratio: 0.5 }, note,
    },
    {
      caseNumber: 3, name: 'lease handoff to caught-up p99, main long-polling', value: percentile(hinted, 99),
      baselineName: 'polls alone (every 25 ms) p99', baseline: percentile(polled, 99), unit: 'ms', better: 'lower', note,
    },
  ];
}
