// The main sync process's V8 options: its young generation stays at two 8 MiB semi-spaces under a drain's
// allocation, where V8's default lets it double to two 16 MiB ones (24 MiB more resident memory for nothing),
// and its old generation stays near what is alive instead of filling with garbage between full collections.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SYNC_PROCESS_V8_FLAGS } from '../../../src/main/host/sync-process-launcher';

const youngProbe = fileURLToPath(new URL('../../support/young-generation-probe.ts', import.meta.url));
const oldProbe = fileURLToPath(new URL('../../support/old-generation-probe.ts', import.meta.url));
const MIB = 1024 * 1024;

const youngGenerationBytes = (v8Flags: readonly string[]) => probeReport(youngProbe, 'newSpaceBytes', v8Flags);
const peakOldSpaceBytes = (v8Flags: readonly string[]) => probeReport(oldProbe, 'peakOldSpaceBytes', v8Flags);

/** Runs a probe under these V8 options and answers one figure of its report. */
async function probeReport(probe: string, figure: string, v8Flags: readonly string[]): Promise<number> {
  const child = fork(probe, [], { execArgv: [...v8Flags, '--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const report = new Promise<number>((resolve, reject) => {
    child.once('message', (message: unknown) => resolve((message as Record<string, number>)[figure] ?? Number.NaN));
    void exited.then((code) => reject(new Error(`the probe exited (${String(code)}) without a report`)));
  });
  try {
    return await report;
  } finally {
    await exited;
  }
}

describe('main sync process V8 options', () => {
  it('sync process: its young generation stays within 16 MiB where the default grows to 32 MiB', async () => {
    const [capped, uncapped] = [await youngGenerationBytes(SYNC_PROCESS_V8_FLAGS), await youngGenerationBytes([])];
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(16 * MIB);
    // The probe allocates enough to make the default grow, so the cap is what keeps it small.
    expect(uncapped).toBeGreaterThan(16 * MIB);
  });

  it('sync process: its old space stays near what is alive where the default fills it with garbage', async () => {
    const withoutSizeOption = SYNC_PROCESS_V8_FLAGS.filter((flag) => flag !== '--optimize-for-size');
    const [lean, unconstrained] = [await peakOldSpaceBytes(SYNC_PROCESS_V8_FLAGS), await peakOldSpaceBytes(withoutSizeOption)];
    // About 8 MiB are alive at any time; measured here: 25 to 30 MiB with the options, 70 to 82 without.
    expect(lean).toBeGreaterThan(0);
    expect(lean).toBeLessThanOrEqual(45 * MIB);
    expect(unconstrained).toBeGreaterThan(55 * MIB);
  }, 120_000);
});
