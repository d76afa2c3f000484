// The notifier's Olm state opening during its first sync: no batch commits before the device is open, every
// event of that batch goes through the open device's decryption, and a device that cannot be opened commits
// nothing (the batch stays on the server, the lease is released).
import { describe, expect, it } from 'vitest';
import type { OlmEngineHooks } from '../../../src/device/olm-device';
import type { SyncTransport } from '../../../src/engine/matrix-client';
import { OlmOpening, type HooksSource } from '../../../src/notifier/olm-opening';
import { err, ok, type Result } from '../../../src/shared/result';
import { inboxStats, listInbox } from '../../../src/store/inbox';
import { readLease } from '../../../src/store/lease';
import { readToken } from '../../../src/store/token';
import { makeEngine } from '../engine/engine-fixture';
import { startFixture } from '../engine/homeserver-fixture';
import { tempStore } from '../store/temp-store';

/** A device whose hooks mark every event they see; the test decides when (and whether) it opens. */
function controlledOpening(): { opening: OlmOpening<HooksSource>; open(): void; fail(): void } {
  let settle: (device: Result<HooksSource, string>) => void = () => undefined;
  const opened = new Promise<Result<HooksSource, string>>((resolve) => (settle = resolve));
  const hooks: OlmEngineHooks = {
    transformEvents: (events) => events.map((event) => ({ ...event, content: { ...event.content, seenByDevice: true } })),
    afterCommit: () => undefined,
    e2ee: true,
    onE2ee: () => undefined,
  };
  return {
    opening: new OlmOpening(opened),
    open: () => settle(ok({ engineHooks: () => hooks })),
    fail: () => settle(err('the pickle key does not open the account')),
  };
}

describe('olm opening', () => {
  it('olm opening: a sync response waits for the device to open; the batch then commits through its decryption', async () => {
    const fixture = await startFixture();
    await fixture.send(0, 3);
    const store = tempStore();
    const { opening, open } = controlledOpening();
    const client = fixture.receiver.client;
    let answered = 0;
    const counting: SyncTransport = {
      slidingSyncToDevice: (request) => client.slidingSyncToDevice(request).finally(() => (answered += 1)),
      classicSync: (request) => client.classicSync(request).finally(() => (answered += 1)),
    };
    const { engine } = makeEngine(store, opening.gate(counting), { processName: 'notifier', strategy: 'explicit-lease', ...opening.hooks() });
    let done = false;
    const syncing = engine.syncUntilCaughtUp({ leaseWaitMs: 1000 }).finally(() => (done = true));
    // The server has answered, but nothing may commit before the device is open.
    await expect.poll(() => answered).toBe(1);
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
