// When a notifier takes the lease: not before the pushed event's fetch answered, and not before the Olm state an
// encrypted pushed event made it open is open, so it never holds the lease while libolm loads.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { OlmEngineHooks } from '../../../src/device/olm-device';
import { readyForLease } from '../../../src/notifier/lease-readiness';
import { OlmOpening, type HooksSource } from '../../../src/notifier/olm-opening';
import { ok, type Result } from '../../../src/shared/result';

const hooks: OlmEngineHooks = { transformEvents: (events) => [...events], afterCommit: () => undefined, e2ee: true, onE2ee: () => undefined };

/** A lazy opening (as under explicit-lease) that opens when the test says so, and a pushed-event fetch the test answers. */
function world() {
  let open: () => void = () => undefined;
  const opened = new Promise<Result<HooksSource, string>>((resolve) => (open = () => resolve(ok({ engineHooks: () => hooks }))));
  const opening = new OlmOpening(() => opened, { onE2ee: () => undefined });
  let answer: (type: string) => void = () => undefined;
  let fail: () => void = () => undefined;
  const fetching = new Promise<{ type: string }>((resolve, reject) => {
    answer = (type) => resolve({ type });
    fail = () => reject(new Error('connection refused'));
  });
  // As the notifier does: an encrypted pushed event starts the opening.
  void fetching.then((event) => event.type === 'm.room.encrypted' && void opening.start()).catch(() => undefined);
  let ready = false;
  void readyForLease(fetching, () => opening.whenSettled).then(() => (ready = true));
  const settledYet = async (): Promise<boolean> => {
    for (let i = 0; i < 5; i += 1) await nextTurn();
    return ready;
  };
  return { open, answer, fail, settledYet, opening };
}

describe('notifier lease readiness', () => {
  it('lease readiness: an encrypted pushed event makes the notifier wait for its fetch and then for the Olm state to open', async () => {
    const w = world();
    expect(await w.settledYet()).toBe(false);
    w.answer('m.room.encrypted');
    expect(await w.settledYet()).toBe(false);
    expect(w.opening.started).toBe(true);
    w.open();
    expect(await w.settledYet()).toBe(true);
  });

  it('lease readiness: a plaintext pushed event needs no opening, so the notifier is ready once the fetch answered', async () => {
    const w = world();
    expect(await w.settledYet()).toBe(false);
    w.answer('m.room.message');
    expect(await w.settledYet()).toBe(true);
    expect(w.opening.started).toBe(false);
  });

  it('lease readiness: a failed fetch does not keep the notifier from the lease', async () => {
    const w = world();
    w.fail();
    expect(await w.settledYet()).toBe(true);
  });
});
