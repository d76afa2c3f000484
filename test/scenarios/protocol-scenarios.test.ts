/**
 * Named failure-mode scenarios (DESIGN.md §6) at the protocol level: two client processes of one device,
 * interleaved phase by phase against the real reference homeserver, with crashes at named kill points.
 * Each scenario runs once with the strategy that shows the failure (the test fails if the failure does not
 * appear) and once each with explicit-cas and explicit-lease (the failure must be gone: nothing lost, nothing
 * duplicated, per-sender order kept, the shared token never moving backward).
 *
 * Under explicit-lease the second process usually cannot even request while the first holds the lease
 * (`lease-busy`): that is the lease doing its job, and the same script then shows it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Strategy } from '../../src/engine/engine-types';
import { EngineWorld } from './engine-world';

let world: EngineWorld | undefined;
afterEach(() => {
  world?.close();
  world = undefined;
});

type Verdict = { lost: number; duplicated: number; reordered: number; tokenMovedBackward: boolean };

async function scenario(strategy: Strategy, script: (w: EngineWorld) => Promise<number>, limit = 100): Promise<Verdict> {
  world?.close();
  world = await EngineWorld.start(strategy, limit);
  const sent = await script(world);
  await world.drain();
  return { ...world.verdict(sent), tokenMovedBackward: world.tokenMovedBackward };
}

const safe: Verdict = { lost: 0, duplicated: 0, reordered: 0, tokenMovedBackward: false };

/** The fixed choreography shared by F2/F4/F13: A and B both request the same `since`, then both commit. */
async function bothReceiveThenBothCommit(w: EngineWorld, between?: () => Promise<void>): Promise<number> {
  const a = w.process('main', 100);
  const b = w.process('notifier', 200);
  await w.fixture.send(1, 3);
  await a.step();
  await b.step();
  await between?.();
  await a.step();
  w.track(a.store);
  await b.step();
  w.track(b.store);
  return 3;
}

/** F2: B commits and moves on; A then commits the batch it fetched with the token it read before B's commit. */
async function staleToken(w: EngineWorld): Promise<number> {
  const a = w.process('main', 100);
  const b = w.process('notifier', 200);
  await w.fixture.send(1, 3);
  await a.step();
  await b.step();
  await b.step();
  w.track(b.store);
  await w.fixture.send(4, 2);
  await b.step();
  await b.step();
  w.track(b.store);
  await a.step();
  w.track(a.store);
  return 5;
}

/** F3: the process dies inside its commit (`mid-commit`); a fresh one sends the stored token. */
async function crashMidCommit(w: EngineWorld): Promise<number> {
  const a = w.process('main', 100);
  a.arm('mid-commit');
  await w.fixture.send(1, 3);
  await a.step();
  expect(await a.step()).toBe('crashed');
  await a.step();
  await a.step();
  w.track(a.store);
  return 3;
}

/** F5: A's response is lost after the server processed it; B fetches meanwhile; A's retry returns a larger batch. */
async function lostResponseLargerRetry(w: EngineWorld): Promise<number> {
  const a = w.process('main', 100);
  const b = w.process('notifier', 200);
  await w.fixture.send(1, 3);
  await w.fixture.admin.addFault(w.fixture.receiver.userId, w.fixture.receiver.deviceId, { kind: 'drop-response', count: 1 });
  expect(await a.step()).toBe('retry');
  await b.step();
  await w.fixture.send(4, 2);
  await a.step();
  await a.step();
  w.track(a.store);
  await b.step();
  w.track(b.store);
  return 5;
}

/** F12: the server forgets every `pos` (M_UNKNOWN_POS) mid-stream while B syncs the same queue. */
async function unknownPosMidStream(w: EngineWorld): Promise<number> {
  const a = w.process('main', 100);
  const b = w.process('notifier', 200);
  await w.fixture.send(1, 3);
  await a.step();
  await a.step();
  w.track(a.store);
  await w.fixture.send(4, 3);
  await w.fixture.admin.addFault(w.fixture.receiver.userId, w.fixture.receiver.deviceId, { kind: 'expire-pos' });
  const first = await a.step();
  if (first === 'unknown-pos') await a.step();
  await b.step();
  await b.step();
  w.track(b.store);
  await a.step();
  w.track(a.store);
  return 6;
}

/** F15: a 1,000-message backlog, batches of 100, drained by two processes at once. */
async function backlogTwoDrainers(w: EngineWorld): Promise<number> {
  const a = w.process('main', 100);
  const b = w.process('notifier', 200);
  await w.fixture.send(1, 1000);
  for (let round = 0; round < 40; round += 1) {
    await a.step();
    await b.step();
    await a.step();
    w.track(a.store);
    await b.step();
    w.track(b.store);
  }
  return 1000;
}

describe('failure modes at the protocol level', () => {
  it('scenario F2: a token read before the other process committed is sent and its batch committed: explicit-naive moves the token backward and duplicates', async () => {
    const naive = await scenario('explicit-naive', staleToken);
    expect(naive.tokenMovedBackward).toBe(true);
    expect(naive.duplicated).toBeGreaterThan(0);
    expect(await scenario('explicit-cas', staleToken)).toEqual(safe);
    expect(await scenario('explicit-lease', staleToken)).toEqual(safe);
  });

  it('scenario F3: the token is persisted before the events and the process dies in between: explicit-naive acknowledges a batch it never stored (lost)', async () => {
    expect((await scenario('explicit-naive', crashMidCommit)).lost).toBe(3);
    expect(await scenario('explicit-cas', crashMidCommit)).toEqual(safe);
    expect(await scenario('explicit-lease', crashMidCommit)).toEqual(safe);
  });

  it('scenario F4: two processes persist the same batch, one of them without its token winning: explicit-naive handles it twice', async () => {
    expect((await scenario('explicit-naive', (w) => bothReceiveThenBothCommit(w))).duplicated).toBe(3);
    expect(await scenario('explicit-cas', (w) => bothReceiveThenBothCommit(w))).toEqual(safe);
    expect(await scenario('explicit-lease', (w) => bothReceiveThenBothCommit(w))).toEqual(safe);
  });

  it('scenario F5: a response is lost and the retry returns a larger batch while another process committed the first: explicit-naive duplicates', async () => {
    expect((await scenario('explicit-naive', lostResponseLargerRetry)).duplicated).toBeGreaterThan(0);
    expect(await scenario('explicit-cas', lostResponseLargerRetry)).toEqual(safe);
    expect(await scenario('explicit-lease', lostResponseLargerRetry)).toEqual(safe);
  });

  it('scenario F12: M_UNKNOWN_POS resets the connection mid-stream; the new connection keeps since and redelivers the unacknowledged batch: explicit-naive commits it twice', async () => {
    expect((await scenario('explicit-naive', unknownPosMidStream)).duplicated).toBeGreaterThan(0);
    expect(await scenario('explicit-cas', unknownPosMidStream)).toEqual(safe);
    expect(await scenario('explicit-lease', unknownPosMidStream)).toEqual(safe);
  });

  it('scenario F13: a process that started before the first commit syncs without since and gets the unacknowledged batch again: explicit-naive appends it twice', async () => {
    // Both requests go out with no `since` (an initial sync): the store had no token yet when each read it.
    expect((await scenario('explicit-naive', (w) => bothReceiveThenBothCommit(w))).duplicated).toBe(3);
    expect(await scenario('explicit-cas', (w) => bothReceiveThenBothCommit(w))).toEqual(safe);
    expect(await scenario('explicit-lease', (w) => bothReceiveThenBothCommit(w))).toEqual(safe);
  });

  it('scenario F15: a 1,000-message backlog drained in batches of 100 by two processes at once: explicit-naive commits overlapping batches twice; cas/lease deliver all 1,000 once, in order', async () => {
    expect((await scenario('explicit-naive', backlogTwoDrainers)).duplicated).toBeGreaterThan(0);
    expect(await scenario('explicit-cas', backlogTwoDrainers)).toEqual(safe);
    expect(await scenario('explicit-lease', backlogTwoDrainers)).toEqual(safe);
  }, 60_000);
});
