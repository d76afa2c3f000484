// bench: src/bench/olm-sender-cost.ts creates OlmMachine senders, shares keys and sends Olm to-device messages
// to a receiving device of ours, which must decrypt every one (the script throws otherwise). No timing is
// asserted: this machine is shared.
import { describe, expect, it } from 'vitest';
import { formatOlmSenderCosts, measureOlmSenderCosts } from '../../src/bench/olm-sender-cost';

describe('olm sender cost bench', () => {
  it('bench: one run creates a sender, shares keys that decrypt, and reports finite figures', async () => {
    const costs = await measureOlmSenderCosts(1, 2);
    for (const value of [costs.createMs, costs.firstShareMs, costs.laterShareMs, costs.toDeviceMs]) {
      expect(Number.isFinite(value) && value > 0).toBe(true);
    }
    expect(formatOlmSenderCosts(costs)).toMatch(/^Olm sender costs, medians over 1 runs x 2 shares/);
  });
});
