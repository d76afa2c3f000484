// What the Electron app's build (electron-vite, electron.vite.config.ts) loads, checked on its output text, since no
// Electron binary runs here to start it.
// - The main-process bundles load better-sqlite3 and libolm's olm.js with `require`, never with an `import`: an
//   `import` of a CommonJS file makes Node's ESM loader scan it for its export names first, which cost the
//   plain-Node notifier about 20 ms of its start for olm.js alone. Each `require` is resolved from the bundle's
//   own folder, so the packages must be found from there (checked by loading them from it).
// - The main sync process's entry reaches its first consume pass without the network stack or node:crypto, as the
//   plain-Node bundle does (test/harness/process-entries-bundle.test.ts).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../../src/cli/renderer-build';
import { staticClosure } from '../../../support/module-closure';

let outDir: string;
let mainFiles: string[];

beforeAll(() => {
  // Inside the project, as out/ is: the bundles resolve their packages from node_modules above them.
  fs.mkdirSync(path.join(projectRoot, 'out'), { recursive: true });
  outDir = fs.mkdtempSync(path.join(projectRoot, 'out', 'bundle-check-'));
  const cli = path.join(projectRoot, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  const built = spawnSync(process.execPath, [cli, 'build', '--outDir', outDir], { cwd: projectRoot, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`electron-vite build failed (exit ${built.status ?? built.signal}): ${built.stderr.slice(-2000)}`);
  const mainDir = path.join(outDir, 'main');
  mainFiles = fs.readdirSync(mainDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.js')).map((name) => path.join(mainDir, name));
});

afterAll(() => {
  if (outDir !== undefined) fs.rmSync(outDir, { recursive: true, force: true });
});

const requireLine = (name: string): string => `createRequire(import.meta.url)(${JSON.stringify(name)})`;

describe('Electron build', () => {
  it('Electron build: the main-process bundles require better-sqlite3 and olm.js, never import them', () => {
    const texts = mainFiles.map((file) => ({ file, text: fs.readFileSync(file, 'utf8') }));
    for (const { file, text } of texts) {
      expect(text, path.relative(outDir, file)).not.toMatch(/(from|import\()\s*"(better-sqlite3|@matrix-org\/olm)[^"]*"/);
    }
    for (const name of ['better-sqlite3', '@matrix-org/olm']) {
      const requiring = texts.filter(({ text }) => text.includes(requireLine(name)));
      expect(requiring.length, name).toBeGreaterThan(0);
      // Resolved from where the bundle is, as its createRequire does.
      for (const { file } of requiring) expect(() => createRequire(pathToFileURL(file)).resolve(name), name).not.toThrow();
    }
  });

  it('Electron build: libolm loads through its required module only when imported, from the bundle folder', async () => {
    const olmModule = mainFiles.find((file) => fs.readFileSync(file, 'utf8').includes(requireLine('@matrix-org/olm')));
    expect(olmModule).toBeDefined();
    // Not in any entry's static closure: the notifier opens Olm only when a batch needs it.
    for (const entry of ['notifier.js', 'sync-process.js', 'index.js']) {
      expect(staticClosure(path.join(outDir, 'main', entry)).files, entry).not.toContain(olmModule);
    }
    const loaded = (await import(pathToFileURL(olmModule as string).href)) as { default?: { init?: unknown } };
    expect(typeof loaded.default?.init).toBe('function');
  });

  it('Electron build: the main sync process reaches its first consume pass without the network stack or node:crypto', () => {
    const { files, specifiers } = staticClosure(path.join(outDir, 'main', 'sync-process.js'));
    const loaded = files.map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    expect(loaded).toMatch(/function consumeWhileStarting\(/);
    expect(loaded).not.toMatch(/function startMainSync\(/);
    for (const heavy of ['node:http', 'node:https', 'node:net', 'node:crypto', 'crypto', 'http']) expect([...specifiers], heavy).not.toContain(heavy);
  });
});
