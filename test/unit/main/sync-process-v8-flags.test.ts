// The main sync process's V8 options: its young generation stays at two 8 MiB semi-spaces under a drain's
// allocation, where V8's default lets it double to two 16 MiB ones (24 MiB more resident memory for nothing).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { forkTypeScript } from '../../../src/main/host/fork-typescript';
import { SYNC_PROCESS_V8_FLAGS } from '../../../src/main/host/sync-process-launcher';

const probe = fileURLToPath(new URL('../../support/young-generation-probe.ts', import.meta.url));
const MIB = 1024 * 1024;

async function youngGenerationBytes(v8Flags: readonly string[]): Promise<number> {
  const forked = forkTypeScript(probe, [], {}, v8Flags);
  const report = new Promise<number>((resolve, reject) => {
    forked.child.once('message', (message: unknown) => resolve((message as { newSpaceBytes: number }).newSpaceBytes));
    void forked.exited.then(({ code }) => reject(new Error(`the probe exited (${String(code)}) without a report`)));
  });
  try {
    return await report;
  } finally {
    await forked.exited;
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
});
