// The harness's bundled entries load the CommonJS packages they keep outside the bundle (better-sqlite3,
// libolm's olm.js) with `require`, not through Node's ESM loader: an `import` of a CommonJS file makes Node scan
// it for its export names first, which under the notifier's V8 options cost about 20 ms of every notifier's start.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleEntries } from '../../src/harness/process-entries';

describe('process entry bundles', () => {
  it('process entry bundles: better-sqlite3 and olm.js are required by absolute path, never imported', async () => {
    const dir = await bundleEntries();
    try {
      for (const entry of ['notifier', 'main-sync']) {
        const text = fs.readFileSync(path.join(dir, `${entry}.mjs`), 'utf8');
        expect(text, entry).toMatch(/createRequire\d*\(import\.meta\.url\)\("[^"]+better-sqlite3[^"]*"\)/);
        expect(text, entry).toMatch(/createRequire\d*\(import\.meta\.url\)\("[^"]+@matrix-org[^"]+olm\.js"\)/);
        expect(text, entry).not.toMatch(/(from|import\()\s*"[^"]*(better-sqlite3|olm\.js)[^"]*"/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
