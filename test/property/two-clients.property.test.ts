/**
 * Property: two client processes sharing one device and one SQLite file, interleaved step by step against the
 * real reference homeserver, with crashes (at random steps and at named kill points) and lost responses, never
 * lose a message, never commit one twice, keep per-sender order, never move the token backward, and never see
 * two holders of one lease generation. Checked for `explicit-cas` and `explicit-lease`; `explicit-naive` must be
 * caught violating it.
 *
 * A run is a safety phase (random actions with faults) followed by a liveness phase (faults cleared, time moved
 * past every lease, both processes restarted and synced until the server queue is empty). Reproduce a failure
 * with the seed fast-check prints: TODEVICE_PROPERTY_SEED=<seed> npx vitest run test/property
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/homeserver/admin-client';
import { startHomeserver } from '../../src/homeserver/homeserver';
import type { EngineEvent, Strategy } from '../../src/engine/engine-types';
import { KILL_POINT_NAMES, type KillPointName, type KillPoints } from '../../src/engine/kill-points';
import { MatrixClient } from '../../src/engine/matrix-client';
import { SyncEngine } from '../../src/engine/sync-engine';
import { seededRandom } from '../../src/engine/timing';
import { listInbox } from '../../src/store/inbox';
import { openStore, type ClientStore } from '../../src/store/open-store';
import { readToken } from '../../src/store/token';

type Who = 0 | 1;
type Action =
  | { kind: 'step'; who: Who }
  | { kind: 'send'; count: number }
  | { kind: 'crash'; who: Who }
  | { kind: 'arm-kill'; who: Who; point: KillPointName }
  | { kind: 'drop-response' }
  | { kind: 'tick'; ms: number };

const ENGINE_KILL_POINTS = KILL_POINT_NAMES.filter((name) => name !== 'consumer-after-effect-before-cursor');
const LEASE_DURATION_MS = 1000;

const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('step' as const), who: fc.constantFrom<Who>(0, 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), who: fc.constantFrom<Who>(0, 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('arm-kill' as const), who: fc.constantFrom<Who>(0, 1), point: fc.constantFrom(...ENGINE_KILL_POINTS) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop-response' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 1500 }) }) },
);

const scenarioArbitrary = fc.record({
  actions: fc.array(actionArbitrary, { minLength: 10, maxLength: 60 }),
  skewMs: fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 })),
  limit: fc.integer({ min: 1, max: 5 }),
});

class SimulatedCrash extends Error {}

type Compat = 'todevice' | 'synapse';
/** One reference homeserver per behaviour: MSC4538 as DESIGN.md §3 reads it, and Synapse's (`--compat synapse`). */
const servers = {} as Record<Compat, { server: Awaited<ReturnType<typeof startHomeserver>>; admin: AdminClient }>;
let runCounter = 0;
const tempDirs: string[] = [];

beforeAll(async () => {
  for (const compat of ['todevice', 'synapse'] as const) {
    const server = await startHomeserver({ dbPath: ':memory:', port: 0, compat, log: () => undefined });
    servers[compat] = { server, admin: new AdminClient(server.url, server.adminToken) };
  }
});

afterAll(async () => {
  for (const { server } of Object.values(servers)) await server.close();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** One simulated client process: its own store connection, clock skew, pid and engine. */
class SimProcess {
  store: ClientStore;
  engine!: SyncEngine;
  armed: KillPointName | undefined;
  private pid: number;

  constructor(
    readonly name: string,
    private readonly world: World,
    private readonly skewMs: number,
    pidBase: number,
  ) {
    this.pid = pidBase;
    this.store = openStore(world.dbPath);
    this.start();
  }

  /** A restart after a crash: a new connection (SQLite rolled back anything open) and a new pid. */
  crash(): void {
    this.store.close();
    this.store = openStore(this.world.dbPath);
    this.pid += 1;
    this.armed = undefined;
    this.start();
  }

  private start(): void {
    const killPoints: KillPoints = {
      hit: (name) => {
        if (this.armed === name) {
          this.armed = undefined;
          throw new SimulatedCrash(name);
        }
      },
    };
    this.engine = new SyncEngine({
      store: this.store,
      client: this.world.client,
      clock: { nowMs: () => this.world.nowMs + this.skewMs },
      sleep: async () => undefined,
      random: seededRandom(this.pid),
      strategy: this.world.strategy,
      processName: this.name,
      pid: this.pid,
      killPoints,
      limit: this.world.limit,
      leaseDurationMs: LEASE_DURATION_MS,
      backoff: { baseMs: 1, maxMs: 1, maxRetries: 1000 },
      logEvents: false,
      onEvent: (event) => this.world.events.push(event),
    });
  }

  async run<T>(operation: () => Promise<T>): Promise<T | 'crashed'> {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error;
      this.crash();
      return 'crashed';
    }
  }
}

interface World {
  dbPath: string;
  strategy: Strategy;
  limit: number;
  client: MatrixClient;
  nowMs: number;
  events: EngineEvent[];
  /** The admin surface of the server this scenario runs against. */
  admin: AdminClient;
}

async function newDevice(server: { url: string }): Promise<{ receiver: MatrixClient; userId: string; deviceId: string; sender: MatrixClient }> {
  runCounter += 1;
  const anonymous = new MatrixClient({ baseUrl: server.url });
  const receiver = await anonymous.register({ username: `prop-r${runCounter}`, password: 'pw', deviceId: 'PHONE' });
  const sender = await anonymous.register({ username: `prop-s${runCounter}`, password: 'pw', deviceId: 'S' });
  if (!receiver.ok || !sender.ok) throw new Error('registration failed');
  return {
    receiver: anonymous.withAccessToken(receiver.value.access_token),
    userId: receiver.value.user_id,
    deviceId: receiver.value.device_id,
    sender: anonymous.withAccessToken(sender.value.access_token),
  };
}

function streamPosition(since: string | null): number {
  return since === null ? 0 : Number(since.split('_')[0]);
}

/** Runs one scenario and returns the violations found (empty when every invariant held). */
type Scenario = typeof scenarioArbitrary extends fc.Arbitrary<infer T> ? T : never;

async function runScenario(strategy: Strategy, scenario: Scenario, compat: Compat = 'todevice'): Promise<string[]> {
  const { server, admin } = servers[compat];
  const device = await newDevice(server);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-prop-'));
  tempDirs.push(dir);
  const world: World = { dbPath: path.join(dir, 'client.sqlite'), strategy, limit: scenario.limit, client: device.receiver, nowMs: 1_000_000, events: [], admin };
  const processes = [new SimProcess('main', world, scenario.skewMs[0], 100), new SimProcess('notifier', world, scenario.skewMs[1], 200)] as const;
  const violations: string[] = [];
  let sent = 0;
  let lastPosition = 0;
  const observeToken = (): void => {
    const position = streamPosition(readToken(processes[0].store).since);
    if (position < lastPosition) violations.push(`token moved backward from ${lastPosition} to ${position}`);
    lastPosition = Math.max(lastPosition, position);
  };
  const send = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i += 1, sent += 1) {
      const result = await device.sender.sendToDevice('m.test', `txn${sent}`, { [device.userId]: { [device.deviceId]: { n: sent } } });
      if (!result.ok) throw new Error(`send failed: ${JSON.stringify(result.error)}`);
    }
  };
  try {
    for (const action of scenario.actions) {
      await perform(action, processes, world, device, send);
      observeToken();
    }
    await converge(processes, world, device, observeToken);
    violations.push(...checkInbox(processes[0].store, sent), ...checkLease(world.events));
  } finally {
    for (const process of processes) process.store.close();
    await admin.clearFaults();
  }
  return violations;
}

async function perform(
  action: Action,
  processes: readonly [SimProcess, SimProcess],
  world: World,
  device: { userId: string; deviceId: string },
  send: (count: number) => Promise<void>,
): Promise<void> {
  switch (action.kind) {
    case 'step': {
      const process = processes[action.who];
      await process.run(() => process.engine.step({ timeoutMs: 0 }));
      return;
    }
    case 'send':
      return send(action.count);
    case 'crash':
      processes[action.who].crash();
      return;
    case 'arm-kill':
      processes[action.who].armed = action.point;
      return;
    case 'drop-response':
      return world.admin.addFault(device.userId, device.deviceId, { kind: 'drop-response', count: 1 });
    case 'tick':
      world.nowMs += action.ms;
      return;
  }
}

/** Liveness: no faults, every lease lapsed, both processes restarted; sync until the server holds nothing. */
async function converge(
  processes: readonly [SimProcess, SimProcess],
  world: World,
  device: { userId: string; deviceId: string },
  observeToken: () => void,
): Promise<void> {
  await world.admin.clearFaults();
  world.nowMs += 10 * LEASE_DURATION_MS;
  for (const process of processes) process.crash();
  for (let round = 0; round < 20; round += 1) {
    for (const process of processes) {
      const summary = await process.run(() => process.engine.syncUntilCaughtUp({ leaseWaitMs: 0 }));
      if (summary !== 'crashed' && summary.kind === 'failed') throw new Error(`liveness sync failed: ${JSON.stringify(summary)}`);
      observeToken();
    }
    const inspection = await world.admin.inspectDevice(device.userId, device.deviceId);
    if (inspection.queued.length === 0) return;
  }
  throw new Error('liveness: the server queue did not drain in 20 rounds');
}

function checkInbox(store: ClientStore, sent: number): string[] {
  const received = listInbox(store, { limit: 100_000 }).map((row) => row.content.n as number);
  const violations: string[] = [];
  const seen = new Set<number>();
  for (const n of received) {
    if (seen.has(n)) violations.push(`message ${n} committed twice`);
    seen.add(n);
  }
  for (let n = 0; n < sent; n += 1) if (!seen.has(n)) violations.push(`message ${n} lost`);
  const firstCopies = received.filter((n, index) => received.indexOf(n) === index);
  if (firstCopies.some((n, index) => index > 0 && n < (firstCopies[index - 1] ?? -1))) {
    violations.push(`per-sender order broken: ${firstCopies.join(',')}`);
  }
  return violations;
}

function checkLease(events: readonly EngineEvent[]): string[] {
  const holderOf = new Map<number, string>();
  const violations: string[] = [];
  for (const event of events) {
    if (event.kind !== 'lease-acquired') continue;
    const generation = event.detail.generation as number;
    const holder = event.detail.holder as string;
    const known = holderOf.get(generation);
    if (known !== undefined && known !== holder) violations.push(`generation ${generation} held by ${known} and ${holder}`);
    holderOf.set(generation, holder);
  }
  // Fencing: once a newer generation was acquired, no commit may happen under an older one.
  let newestGeneration = 0;
  for (const event of events) {
    if (event.kind === 'lease-acquired') newestGeneration = Math.max(newestGeneration, event.detail.generation as number);
    if (event.kind !== 'commit' || event.detail.generation === null) continue;
    const generation = event.detail.generation as number;
    if (generation < newestGeneration) violations.push(`commit under generation ${generation} after ${newestGeneration} was taken`);
  }
  return violations;
}

const seed = process.env.TODEVICE_PROPERTY_SEED === undefined ? undefined : Number(process.env.TODEVICE_PROPERTY_SEED);

describe('two clients, one device, one store', () => {
  for (const compat of ['todevice', 'synapse'] as const) {
    for (const strategy of ['explicit-cas', 'explicit-lease'] as const) {
      const against = compat === 'synapse' ? ' against Synapse\'s to-device behaviour' : '';
      it(`property: ${strategy} loses nothing, commits nothing twice, keeps order under crashes and lost responses${against}`, async () => {
        await fc.assert(
          fc.asyncProperty(scenarioArbitrary, async (scenario) => {
            const violations = await runScenario(strategy, scenario, compat);
            expect(violations).toEqual([]);
          }),
          { numRuns: compat === 'synapse' ? 25 : 40, endOnFailure: true, ...(seed === undefined ? {} : { seed }) },
        );
      }, 90_000);
    }
  }

  it('property: explicit-naive is caught losing or duplicating messages', async () => {
    const result = await fc.check(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        const violations = await runScenario('explicit-naive', scenario);
        return violations.length === 0;
      }),
      { numRuns: 100, endOnFailure: true, ...(seed === undefined ? {} : { seed }) },
    );
    expect(result.failed).toBe(true);
  }, 60_000);
});
