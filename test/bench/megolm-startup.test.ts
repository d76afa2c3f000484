// bench: src/bench/megolm-startup.ts starts a notifier-like process per Megolm implementation, and each one
// decrypts the message (the script throws otherwise). No timing is asserted: this machine is shared.
import { describe, expect, it } from 'vitest';
import { formatStartupTable, measureMegolmStartup } from '../../src/bench/megolm-startup';

describe('megolm start-up bench', () => {
  it('bench: one run of each decryptor decrypts the event and reports finite figures', async () => {
    const figures = await measureMegolmStartup(1);
    expect(figures.map((figure) => figure.kind)).toEqual(['none', 'rust-sdk', 'libolm']);
    for (const figure of figures) {
      expect(figure.runs).toBe(1);
      for (const value of [figure.wallMs, figure.decryptedAtMs, figure.loadMs, figure.peakRssMb]) expect(Number.isFinite(value) && value > 0).toBe(true);
    }
    expect(formatStartupTable(figures)).toMatch(/^one Megolm event in a fresh process, medians of 1 runs/);
  }, 120_000);
});
