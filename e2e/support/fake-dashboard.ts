/**
 * A fixture for the dashboard's looks and its own behaviour (what it shows for a given snapshot, what its
 * controls call), without a homeserver or a single child process: the simulated backend
 * (test/support/fake-ui-backend.ts) behind the real HTTP bridge, and a page opened on the URL the bridge hands
 * out for printing. A test sets up the situation it needs with `fake.configure(...)` and the simulation's own
 * controls, so a layout check is fast and the same on every run.
 *
 * Runtime: Playwright (node). Nothing shown here is evidence about the protocol; the `app` fixture
 * (fixtures.ts) drives the real host for that.
 */
import fs from 'node:fs';
import { test as base, expect } from 'todevice/playwright';
import { ensureRendererBuilt } from '../../src/cli/renderer-build';
import { startUiHttpBridge, type UiHttpBridge } from '../../src/main/host/ui-http-bridge';
import { createFakeUiBackend, type FakeUiBackend } from '../../test/support/fake-ui-backend';
import { watchPage } from './fixtures';

export interface FakeDashboard {
  backend: FakeUiBackend;
  bridge: UiHttpBridge;
  log(line: string): void;
}

export const test = base.extend<{ fake: FakeDashboard }, { rendererDir: string }>({
  rendererDir: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      await use((await ensureRendererBuilt()).dir);
    },
    { scope: 'worker' },
  ],

  fake: async ({ page, rendererDir }, use, testInfo) => {
    const logFile = testInfo.outputPath('page.log');
    fs.mkdirSync(testInfo.outputDir, { recursive: true });
    const log = (line: string): void => fs.appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    const problems = watchPage(page, log);
    const backend = createFakeUiBackend({ tickMs: 100 });
    const bridge = await startUiHttpBridge({ backend, staticDir: rendererDir, host: '127.0.0.1', port: 0, log });
    try {
      await page.goto(bridge.launchUrl);
      await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
      await use({ backend, bridge, log });
      expect(problems, 'page errors or CSP violations').toEqual([]);
    } finally {
      backend.close();
      await bridge.close();
    }
  },
});

export { expect };
