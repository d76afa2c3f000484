/**
 * What a lost to-device message costs a user: a room key that never arrives, so a message that cannot be
 * decrypted. Real processes, real Megolm (matrix-sdk-crypto-wasm), the race harness with a hand-written schedule:
 * the main process is down while pushes start notifiers, so the notifiers are the ones that fetch the keys.
 */
import { describe, expect, it } from 'vitest';
import { pushesAt, runScenarioRace, toDeviceSends, type ScenarioPlan } from '../../src/harness/scenario-race';

const mainDownDuringPushes: ScenarioPlan = {
  durationS: 5,
  timed: [{ atMs: 300, kind: 'kill-main', how: { kind: 'random' }, restartDelayMs: 3200 }],
  sends: [...toDeviceSends(500, 6, 100), ...pushesAt([900, 1700, 2500]), ...toDeviceSends(3800, 4, 100)],
};

describe('encrypted messages between real processes', () => {
  it('scenario: under legacy the notifiers keep the room keys they fetched, so main\'s timeline cannot decrypt those messages even after convergence; the same schedule with explicit-lease decrypts everything', async () => {
    const legacy = await runScenarioRace('legacy', mainDownDuringPushes);
    expect(legacy.encryption.roomMessages).toBe(3);
    expect(legacy.liveness.converged).toBe(true);
    expect(legacy.encryption.timeline.unableToDecrypt + legacy.encryption.timeline.notPaged, JSON.stringify(legacy.encryption)).toBeGreaterThan(0);
    expect(legacy.encryption.undecryptableSample.length).toBeGreaterThan(0);

    const lease = await runScenarioRace('explicit-lease', mainDownDuringPushes);
    expect(lease.violations, JSON.stringify({ notes: lease.notes, diagnostics: lease.diagnostics })).toEqual([]);
    expect(lease.encryption.timeline, JSON.stringify(lease.encryption)).toMatchObject({ paged: 3, decrypted: 3, unableToDecrypt: 0, notPaged: 0 });
    expect(lease.encryption.notifications.unableToDecrypt).toBe(0);
    expect(lease.encryption.notifications.decrypted).toBeGreaterThan(0);
  }, 90_000);
});
