/**
 * The Electron app itself: the built main process, sandboxed preload and renderer, with notifiers and the main
 * sync as utility processes. Runs wherever an Electron binary exists; elsewhere it skips and prints why
 * (DESIGN.md §7: this machine cannot download one).
 *
 * Runtime: Playwright (node), through `_electron.launch` on the project root (package.json `main` is the
 * built `out/main/index.js`, rebuilt first when stale), with the better-sqlite3 build for Electron that
 * `todevice start` uses (found in or built into the same cache, src/cli/electron-sqlite.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron, expect, test } from '@playwright/test';
import { findElectronBinary } from '../../src/cli/electron-binary';
import { ensureElectronBuilt } from '../../src/cli/electron-build';
import { ensureSqliteForElectron } from '../../src/cli/electron-sqlite';
import { defaultSqliteForElectronOptions, nodeSqliteBuildRuntime } from '../../src/cli/electron-sqlite-runtime';
import { SQLITE_ELECTRON_BINDING_ENV } from '../../src/shared/electron-sqlite';

const electronBinary = findElectronBinary();

// Playwright reads a test's fixtures from its first parameter's destructuring, so an unused one is written `{}`.
// eslint-disable-next-line no-empty-pattern
test('electron: the app opens its dashboard and delivers 50 messages exactly once', async ({}, testInfo) => {
  if (!electronBinary.ok) {
    const reason = `${electronBinary.error}; the electron project needs one to launch the app`;
    console.log(`electron project skipped: ${reason}`);
    test.skip(true, reason);
    return;
  }
  // A first build compiles for minutes; later runs find it in the cache.
  test.setTimeout(5 * 60_000);
  const sqlite = await ensureSqliteForElectron(
    nodeSqliteBuildRuntime((line) => console.log(line)),
    defaultSqliteForElectronOptions(electronBinary.value),
  );
  if (!sqlite.ok) throw new Error(sqlite.error);
  const appDir = ensureElectronBuilt();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-electron-'));
  const app = await _electron.launch({
    executablePath: electronBinary.value,
    args: [appDir],
    env: { ...process.env, [SQLITE_ELECTRON_BINDING_ENV]: sqlite.value.binding, TODEVICE_DATA_DIR: dataDir } as Record<string, string>,
  });
  const logFile = testInfo.outputPath('electron.log');
  app.process().stderr?.on('data', (chunk: Buffer) => fs.appendFileSync(logFile, chunk));
  try {
    const page = await app.firstWindow();
    await expect(page.getByTestId('meta-transport')).toHaveText('electron ipc');
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
    // The page sees the one narrow API and nothing of Node or Electron.
    const exposed = await page.evaluate(() => {
      const scope = globalThis as { todevice?: { call?: unknown }; require?: unknown; process?: unknown };
      return [typeof scope.todevice?.call, typeof scope.require, typeof scope.process];
    });
    expect(exposed).toEqual(['function', 'undefined', 'undefined']);
    await page.getByTestId('input-count').fill('50');
    await page.getByTestId('btn-send-to-device').click();
    await expect(page.getByTestId('counter-received')).toHaveAttribute('data-value', '50', { timeout: 45_000 });
    await expect(page.getByTestId('counter-lost')).toHaveAttribute('data-value', '0');
    await expect(page.getByTestId('counter-duplicated')).toHaveAttribute('data-value', '0');
  } finally {
    await app.close();
    if (fs.existsSync(logFile)) await testInfo.attach('electron.log', { path: logFile, contentType: 'text/plain' });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
