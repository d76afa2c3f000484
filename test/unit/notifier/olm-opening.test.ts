// The notifier's Olm state opening during its first sync: no batch commits before the device is open, every
// event of that batch goes through the open device's decryption, and a device that cannot be opened commits
// nothing (the batch stays on the server, the lease is released). Opened on demand, it opens only for a batch that
// carries an Olm event (or when asked), and batches with nothing to decrypt commit without it.
import { describe, expect, it } from 'vitest';
import type { OlmEngineHooks } from '../../../src/device/olm-device';
import type { SyncTransport } from '../../../src/engine/matrix-client';
import type { E2eeReport } from '../../../src/engine/sync-responses';
import { OlmOpening, type HooksSource } from '../../../src/notifier/olm-opening';
import { ENCRYPTED_TO_DEVICE_TYPE } from '../../../src/shared/olm-wire';
import { err, ok, type Result } from '../../../src/shared/result';
import { inboxStats, listInbox } from '../../../src/store/inbox';
import { readLease } from '../../../src/store/lease';
import { readToken } from '../../../src/store/token';
import { makeEngine } from '../engine/engine-fixture';
import { startFixture } from '../engine/homeserver-fixture';
import { tempStore } from '../store/temp-store';

/** A device whose hooks mark every event they see; the test decides when (and whether) it opens. */
function controlledOpening(): { opening: OlmOpening<HooksSource>; hooks: OlmEngineHooks; open(): void; fail(): void } {
  let settle: (device: Result<HooksSource, string>) => void = () => undefined;
  const opened = new Promise<Result<HooksSource, string>>((resolve) => (settle = resolve));
  const hooks: OlmEngineHooks = {
    transformEvents: (events) => events.map((event) => ({ ...event, content: { ...event.content, seenByDevice: true } })),
    afterCommit: () => undefined,
    e2ee: true,
    onE2ee: () => undefined,
  };
  return {
    opening: new OlmOpening(() => opened),
    hooks,
    open: () => settle(ok({ engineHooks: () => hooks })),
    fail: () => settle(err('the pickle key does not open the account')),
  };
}

/** Wraps a sync transport so a test can see how many responses the server has answered so far. */
function countingTransport(client: SyncTransport): { counting: SyncTransport; answered: () => number } {
  let answered = 0;
  const counting: SyncTransport = {
    slidingSyncToDevice: (request) => client.slidingSyncToDevice(request).finally(() => (answered += 1)),
    classicSync: (request) => client.classicSync(request).finally(() => (answered += 1)),
  };
  return { counting, answered: () => answered };
}

describe('olm opening', () => {
  it('olm opening: a sync response waits for the device to open; the batch then commits through its decryption', async () => {
    const fixture = await startFixture();
    await fixture.send(0, 3);
    const store = tempStore();
    const { opening, open } = controlledOpening();
    const { counting, answered } = countingTransport(fixture.receiver.client);
    const { engine } = makeEngine(store, opening.gate(counting), { processName: 'notifier', strategy: 'explicit-lease', ...opening.hooks() });
    let done = false;
    const syncing = engine.syncUntilCaughtUp({ leaseWaitMs: 1000 }).finally(() => (done = true));
    // The server has answered, but nothing may commit before the device is open.
    await expect.poll(() => answered()).toBe(1);
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    expect(done).toBe(false);
    expect(inboxStats(store).lastSeq).toBe(0);
    open();
    const summary = await syncing;
    expect(summary).toMatchObject({ kind: 'caught-up', events: 3 });
    expect(listInbox(store).map((row) => row.content.seenByDevice)).toEqual([true, true, true]);
    store.close();
  });

  it('olm opening: a device that cannot be opened commits nothing, acknowledges nothing and releases the lease', async () => {
    const fixture = await startFixture();
    await fixture.send(0, 2);
    const store = tempStore();
    const { opening, fail } = controlledOpening();
    const { engine } = makeEngine(store, opening.gate(fixture.receiver.client), { processName: 'notifier', strategy: 'explicit-lease', ...opening.hooks() });
    const syncing = engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    fail();
    expect(await syncing).toMatchObject({ kind: 'aborted', events: 0 });
    expect(inboxStats(store).lastSeq).toBe(0);
    expect(readToken(store).since).toBeNull();
    expect(readLease(store, 'to-device')?.expiresAtMs ?? 0).toBeLessThanOrEqual(Date.now());
    // The messages are still on the server for the next process.
    const again = await fixture.receiver.client.slidingSyncToDevice({ connId: 'check', timeoutMs: 0, toDevice: { enabled: true, limit: 10 } });
    expect(again.ok && again.value.events.length).toBe(2);
    store.close();
  });

  it('olm opening: the hooks used before the device is open throw (the gate keeps that from happening)', () => {
    const { opening } = controlledOpening();
    expect(() => opening.hooks().transformEvents([], 0)).toThrow('the Olm device is used before it was opened');
  });
});

/** A device opened on demand: counts how often it was asked to open, and records the e2ee reports before it. */
function onDemandOpening(): { opening: OlmOpening<HooksSource>; opens: () => number; open(): void; fail(): void; reportsBeforeOpen: E2eeReport[] } {
  const controlled = controlledOpening();
  let opens = 0;
  let settle: (device: Result<HooksSource, string>) => void = () => undefined;
  const opened = new Promise<Result<HooksSource, string>>((resolve) => (settle = resolve));
  const reportsBeforeOpen: E2eeReport[] = [];
  const hooks = controlled.hooks;
  const opening = new OlmOpening<HooksSource>(
    () => {
      opens += 1;
      return opened;
    },
    { onE2ee: (report) => void reportsBeforeOpen.push(report) },
  );
  return {
    opening,
    opens: () => opens,
    open: () => settle(ok({ engineHooks: () => hooks })),
    fail: () => settle(err('the pickle key does not open the account')),
    reportsBeforeOpen,
  };
}

/** Sends one Olm-shaped to-device event (`m.room.encrypted`): a batch holding it needs the device to commit. */
async function sendEncrypted(fixture: Awaited<ReturnType<typeof startFixture>>): Promise<void> {
  const content = { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'not-a-real-key', ciphertext: {} };
  const sent = await fixture.sender.client.sendToDevice(ENCRYPTED_TO_DEVICE_TYPE, `olm-${Math.random()}`, { [fixture.receiver.userId]: { [fixture.receiver.deviceId]: content } });
  if (!sent.ok) throw new Error(`sendToDevice failed: ${JSON.stringify(sent.error)}`);
}

describe('olm opening on demand', () => {
  it('olm opening on demand: batches with nothing to decrypt commit as they are and never open the device', async () => {
    const fixture = await startFixture();
    await fixture.send(0, 3);
    const store = tempStore();
    const { opening, opens, reportsBeforeOpen } = onDemandOpening();
    const { engine } = makeEngine(store, opening.gate(fixture.receiver.client), { processName: 'notifier', strategy: 'explicit-lease', ...opening.hooks() });
    const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(summary).toMatchObject({ kind: 'caught-up', events: 3 });
    expect(opens()).toBe(0);
    expect(opening.started).toBe(false);
    // The rows are the events as they came (the device's decryption would have returned them unchanged).
    expect(listInbox(store).map((row) => ({ type: row.type, content: row.content }))).toEqual([0, 1, 2].map((n) => ({ type: 'm.test', content: { n } })));
    // The server's key counts came with the response and went to the stand-in, not to an unopened device.
    expect(reportsBeforeOpen.length).toBeGreaterThan(0);
    store.close();
  });

  it('olm opening on demand: a response carrying an Olm event opens the device and waits for it; that batch commits through its decryption', async () => {
    const fixture = await startFixture();
    await fixture.send(0, 1);
    await sendEncrypted(fixture);
    const store = tempStore();
    const { opening, opens, open } = onDemandOpening();
    const { counting, answered } = countingTransport(fixture.receiver.client);
    const { engine } = makeEngine(store, opening.gate(counting), { processName: 'notifier', strategy: 'explicit-lease', ...opening.hooks() });
    let done = false;
    const syncing = engine.syncUntilCaughtUp({ leaseWaitMs: 1000 }).finally(() => (done = true));
    await expect.poll(() => opens()).toBe(1);
    await expect.poll(() => answered()).toBe(1);
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    expect(done).toBe(false);
    expect(inboxStats(store).lastSeq).toBe(0);
    open();
    expect(await syncing).toMatchObject({ kind: 'caught-up', events: 2 });
    expect(listInbox(store).map((row) => row.content.seenByDevice)).toEqual([true, true]);
    store.close();
  });

  it('olm opening on demand: a device that cannot be opened commits no Olm event and acknowledges nothing of its batch', async () => {
    const fixture = await startFixture();
    await sendEncrypted(fixture);
    const store = tempStore();
    const { opening, fail } = onDemandOpening();
    const { engine } = makeEngine(store, opening.gate(fixture.receiver.client), { processName: 'notifier', strategy: 'explicit-lease', ...opening.hooks() });
    const syncing = engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    await expect.poll(() => opening.started).toBe(true);
    fail();
    expect(await syncing).toMatchObject({ kind: 'aborted', events: 0 });
    expect(inboxStats(store).lastSeq).toBe(0);
    expect(readToken(store).since).toBeNull();
    const again = await fixture.receiver.client.slidingSyncToDevice({ connId: 'check', timeoutMs: 0, toDevice: { enabled: true, limit: 10 } });
    expect(again.ok && again.value.events.map((event) => event.type)).toEqual([ENCRYPTED_TO_DEVICE_TYPE]);
    store.close();
  });

  it('olm opening on demand: asked to decrypt an Olm event before the device is open, the hooks throw; plaintext passes', () => {
    const { opening } = onDemandOpening();
    const plaintext = { type: 'm.test', sender: '@a:localhost', content: { n: 1 } };
    expect(opening.hooks().transformEvents([plaintext], 0)).toEqual([plaintext]);
    const olmEvent = { type: ENCRYPTED_TO_DEVICE_TYPE, sender: '@a:localhost', content: {} };
    expect(() => opening.hooks().transformEvents([plaintext, olmEvent], 0)).toThrow('the Olm device is used before it was opened');
  });

  it('olm opening on demand: start() opens the device once, however often it is asked', async () => {
    const { opening, opens, open } = onDemandOpening();
    const first = opening.start();
    const second = opening.start();
    open();
    expect((await first).ok).toBe(true);
    expect((await second).ok).toBe(true);
    expect((await opening.opened).ok).toBe(true);
    expect(opens()).toBe(1);
  });
});
