// Scenario support at the protocol level: two client "processes" (each its own SQLite connection, pid and
// engine) sharing one store file, against the real reference homeserver in this process. A crash is a thrown
// SimulatedCrash at a named kill point (inside a transaction it rolls back exactly as SIGKILL does); the crashed
// process is replaced by a fresh one (new connection, new pid, nothing kept in memory). The liveness check at
// the end syncs a fresh process until the server holds nothing, then counts the inbox.
import path from 'node:path';
import type { Strategy } from '../../src/engine/engine-types';
import type { KillPointName, KillPoints } from '../../src/engine/kill-points';
import { SyncEngine } from '../../src/engine/sync-engine';
import { seededRandom } from '../../src/engine/timing';
import { listInbox } from '../../src/store/inbox';
import { openStore, type ClientStore } from '../../src/store/open-store';
import { readToken } from '../../src/store/token';
import { startFixture, type Fixture } from '../unit/engine/homeserver-fixture';
import { tempDir } from '../unit/store/temp-store';

export class SimulatedCrash extends Error {}

export const LEASE_MS = 1000;

export class SimProcess {
  store: ClientStore;
  engine!: SyncEngine;
  private armed: KillPointName | undefined;
  private hooks = new Map<KillPointName, () => void>();

  constructor(
    readonly name: string,
    private readonly world: EngineWorld,
    private pid: number,
  ) {
    this.store = openStore(world.dbPath);
    world.closers.push(() => this.store.close());
    this.start();
  }

  arm(point: KillPointName): void {
    this.armed = point;
  }

  /** Runs `hook` when execution reaches `point` (e.g. another connection takes the write lock there). */
  onPoint(point: KillPointName, hook: () => void): void {
    this.hooks.set(point, hook);
  }

  /** One engine phase; a simulated crash replaces this process with a fresh one and returns 'crashed'. */
  async step(): Promise<string> {
    try {
      return (await this.engine.step()).kind;
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error;
      this.restart();
      return 'crashed';
    }
  }

  restart(): void {
    this.store.close();
    this.store = openStore(this.world.dbPath);
    this.world.closers.push(() => this.store.close());
    this.pid += 1;
    this.armed = undefined;
    this.start();
  }

  private start(): void {
    const killPoints: KillPoints = {
      hit: (name) => {
        this.hooks.get(name)?.();
        if (this.armed === name) {
          this.armed = undefined;
          throw new SimulatedCrash(name);
        }
      },
    };
    this.engine = new SyncEngine({
      store: this.store,
      client: this.world.fixture.receiver.client,
      clock: { nowMs: () => Date.now() },
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
      random: seededRandom(this.pid),
      strategy: this.world.strategy,
      processName: this.name,
      pid: this.pid,
      killPoints,
      limit: this.world.limit,
      leaseDurationMs: LEASE_MS,
      backoff: { baseMs: 1, maxMs: 5, maxRetries: 50 },
    });
  }
}

export class EngineWorld {
  readonly closers: Array<() => void> = [];
  readonly dbPath: string;
  /** The shared token's stream position after every `track()`; it must never decrease for a safe strategy. */
  readonly tokenStreams: number[] = [];

  private constructor(
    readonly fixture: Fixture,
    readonly strategy: Strategy,
    readonly limit: number,
  ) {
    this.dbPath = path.join(tempDir(), 'client.sqlite');
  }

  static async start(strategy: Strategy, limit = 100): Promise<EngineWorld> {
    return new EngineWorld(await startFixture(), strategy, limit);
  }

  process(name: string, pid: number): SimProcess {
    return new SimProcess(name, this, pid);
  }

  track(store: ClientStore): void {
    const since = readToken(store).since;
    this.tokenStreams.push(since === null ? -1 : Number(/^(\d+)_/.exec(since)?.[1] ?? -1));
  }

  get tokenMovedBackward(): boolean {
    return this.tokenStreams.some((stream, i) => i > 0 && stream < Math.max(...this.tokenStreams.slice(0, i)));
  }

  /** Liveness: a fresh process syncs until the server holds nothing for the device (bounded). */
  async drain(): Promise<void> {
    const fresh = this.process('drainer', 9000);
    for (let i = 0; i < 200; i += 1) {
      const summary = await fresh.engine.syncUntilCaughtUp({ leaseWaitMs: LEASE_MS * 3 });
      this.track(fresh.store);
      const inspection = await this.fixture.admin.inspectDevice(this.fixture.receiver.userId, this.fixture.receiver.deviceId);
      if (summary.kind === 'caught-up' && inspection.queued.length === 0) return;
    }
    throw new Error('drain did not converge');
  }

  /** What the inbox holds, judged against messages 1..sent (content `n`, sent in order by one sender). */
  verdict(sent: number): { lost: number; duplicated: number; reordered: number } {
    const store = openStore(this.dbPath);
    try {
      const ns = listInbox(store, { limit: 100_000 }).map((row) => Number(row.content.n));
      const seen = new Set<number>();
      let reordered = 0;
      let highest = 0;
      for (const n of ns) {
        if (seen.has(n)) continue;
        seen.add(n);
        if (n < highest) reordered += 1;
        highest = Math.max(highest, n);
      }
      const lost = Array.from({ length: sent }, (_, i) => i + 1).filter((n) => !seen.has(n)).length;
      return { lost, duplicated: ns.length - seen.size, reordered };
    } finally {
      store.close();
    }
  }

  close(): void {
    for (const close of this.closers.splice(0)) close();
  }
}
