// What the harness's bundled entries load, and when.
// - They load the CommonJS packages they keep outside the bundle (better-sqlite3, libolm's olm.js) with `require`,
//   not through Node's ESM loader: an `import` of a CommonJS file makes Node scan it for its export names first,
//   which under the notifier's V8 options cost about 20 ms of every notifier's start.
// - The main sync process is split at its dynamic imports, and what it loads before its first consume pass (its
//   static imports, followed through its chunks) reaches neither the network stack nor node:crypto: a main that
//   starts again after a kill handles the rows other processes committed before the sync loop has loaded.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntries } from '../../src/main/host/process-entries';
import { staticClosure } from '../support/module-closure';

let dir: string;

beforeAll(async () => {
  dir = await bundleEntries();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The entry's file and every chunk it may load, as one text. */
function bundleText(entry: string): string {
  const chunksDir = path.join(dir, 'chunks');
  const chunks = fs.existsSync(chunksDir) ? fs.readdirSync(chunksDir).filter((name) => name.startsWith(`${entry}-`)) : [];
  return [path.join(dir, `${entry}.mjs`), ...chunks.map((name) => path.join(chunksDir, name))].map((file) => fs.readFileSync(file, 'utf8')).join('\n');
}

describe('process entry bundles', () => {
  it('process entry bundles: better-sqlite3 and olm.js are required by absolute path, never imported', () => {
    for (const entry of ['notifier', 'main-sync']) {
      const text = bundleText(entry);
      expect(text, entry).toMatch(/createRequire\d*\(import\.meta\.url\)\("[^"]+better-sqlite3[^"]*"\)/);
      expect(text, entry).toMatch(/createRequire\d*\(import\.meta\.url\)\("[^"]+@matrix-org[^"]+olm\.js"\)/);
      expect(text, entry).not.toMatch(/(from|import\()\s*"[^"]*(better-sqlite3|olm\.js)[^"]*"/);
    }
  });

  it('process entry bundles: the main sync process reaches its first consume pass without the network stack or node:crypto', () => {
    const { files, specifiers } = staticClosure(path.join(dir, 'main-sync.mjs'));
    const loaded = files.map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    expect(loaded).toMatch(/function consumeWhileStarting\(/);
    expect(loaded).not.toMatch(/function startMainSync\(/);
    for (const heavy of ['node:http', 'node:https', 'node:net', 'node:crypto', 'crypto', 'http']) expect([...specifiers], heavy).not.toContain(heavy);
    expect([...specifiers].filter((specifier) => specifier.includes('matrix-sdk-crypto-wasm'))).toEqual([]);
    // The sync loop is still in the bundle, behind a dynamic import.
    expect(bundleText('main-sync')).toMatch(/function startMainSync\(/);
  });
});
