/**
 * What a lost to-device message costs a user: a room key that never arrives, so a message that cannot be
 * decrypted.
 * - Real processes, real Megolm (matrix-sdk-crypto-wasm), the race harness with a hand-written schedule: the main
 *   process is down while pushes start notifiers, so the notifiers are the ones that fetch the keys.
 * - The account-overwrite race (olm-account-overwrite.ts): two processes of one device that each loaded the Olm
 *   account when they started replenish one-time keys at once; under `legacy` their copies hold different keys
 *   under the same key IDs, the server refuses the second upload, the refused copy is written back last, and a
 *   sender that claims one of the published keys sends a pre-key message the device cannot decrypt. The same
 *   schedule under `explicit-lease` and `explicit-cas` uploads one set of keys and decrypts the key.
 */
import { describe, expect, it } from 'vitest';
import { pushesAt, runScenarioRace, toDeviceSends, type ScenarioPlan } from '../../src/harness/scenario-race';
import { olmViolations } from '../../src/harness/olm-oracle';
import { runAccountOverwrite } from './olm-account-overwrite';

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

  it('scenario: the account-overwrite race: under legacy two processes that loaded the Olm account at start replenish one-time keys from their copies, the server refuses the second set ("already exists"), the refused copy is written back last, and the claimed key\'s pre-key message fails (one-time key lost, wedged session, m.dummy sent); explicit-lease and explicit-cas at zero, the key decrypted', async () => {
    const legacy = await runAccountOverwrite('legacy');
    const detail = JSON.stringify(legacy);
    expect(legacy.olm.oneTimeKeysUploadedTwice, detail).toBeGreaterThan(0);
    expect(legacy.olm.oneTimeKeysLost, detail).toBeGreaterThan(0);
    expect(legacy.olm.failures['one-time-key-gone'], detail).toBeGreaterThan(0);
    expect(legacy.olm.wedgedSessions, detail).toBe(1);
    expect(legacy.olm.recoveries, detail).toBe(1);
    expect(legacy.roomKeyDecrypted, detail).toBe(false);

    for (const strategy of ['explicit-lease', 'explicit-cas'] as const) {
      const safe = await runAccountOverwrite(strategy);
      expect(safe.roomKeyDecrypted, `${strategy}: ${JSON.stringify(safe)}`).toBe(true);
      expect(olmViolations(safe.olm), strategy).toEqual([]);
      expect(safe.olm, strategy).toMatchObject({ failed: 0, wedgedSessions: 0, oneTimeKeysUploadedTwice: 0, oneTimeKeysLost: 0, recoveries: 0 });
      expect(safe.olm.decryptedAfterQuery, strategy).toBe(1);
    }
  }, 90_000);
});
