/**
 * The e2e fixtures: todevice's Playwright kit (`todevice/playwright`: `homeserver`, `accounts`, `sender`,
 * `oracle`, `processes`, imported as an outside project imports it) extended with the app under test. Each test
 * gets its own app host (main sync process, push gateway, notifiers as real child processes, started from the
 * entries bundled once per worker as `todevice start` does) on a fresh
 * temporary data directory, the HTTP bridge on port 0, and a page opened on the dashboard once it shows live
 * data. `app` runs the app's embedded homeserver, as `npm start` does; `appOnKit` runs the same app against the
 * kit's `homeserver` fixture (a separate `todevice serve`), so the kit's faults, process helpers and oracle work
 * on the app.
 *
 * Runtime: Playwright (node). Everything the host logs and everything the page prints goes to `host.log` in the
 * test's output folder; a failed test gets it attached (Playwright adds the screenshot and trace), and keeps its
 * data directory for a look with `todevice inbox`. An uncaught page error or a Content Security Policy violation
 * fails the test, since either means the dashboard is broken in a way a counter might not show.
 *
 * Option `notifierEnv` (`test.use({ notifierEnv: { TODEVICE_KILL_AT: 'notifier-before-display' } })`) gives every
 * notifier the app starts extra environment, so a test can arm a kill point in the notifier alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { expect, test as kit, type KitHomeserver } from 'todevice/playwright';
import { ensureRendererBuilt } from '../../src/cli/renderer-build';
import { createDashboardRaceRunner } from '../../src/harness/dashboard-race-runner';
import { startAppHost } from '../../src/main/host/app-host';
import { nodeNotifierLauncher } from '../../src/main/host/notifier-launcher';
import { prepareEntries, type ProcessEntries } from '../../src/main/host/process-entries';
import { nodeSyncProcessLauncher } from '../../src/main/host/sync-process-launcher';
import { startUiHttpBridge } from '../../src/main/host/ui-http-bridge';
import type { UiBackend } from '../../src/shared/ui-api';

export interface AppUnderTest {
  url: string;
  backend: UiBackend;
  dataDir: string;
  log(line: string): void;
}

interface WorkerFixtures {
  rendererDir: string;
  /** The notifier and main sync entries, bundled once per worker as `todevice start` bundles them. */
  processEntries: ProcessEntries;
}

export interface AppOptions {
  /** Extra environment for every notifier process; undefined for none. */
  notifierEnv: Record<string, string> | undefined;
}

interface TestFixtures extends AppOptions {
  /** The app on its embedded homeserver. */
  app: AppUnderTest;
  /** The app on the kit's `homeserver` (with its admin token, so the dashboard's faults and counters work). */
  appOnKit: AppUnderTest;
}

export const test = kit.extend<TestFixtures, WorkerFixtures>({
  notifierEnv: [undefined, { option: true }],

  rendererDir: [
    // Playwright reads a fixture's dependencies from the destructuring; this one has none.
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      await use((await ensureRendererBuilt()).dir);
    },
    { scope: 'worker' },
  ],

  processEntries: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const entries = await prepareEntries('host');
      try {
        await use(entries);
      } finally {
        entries.dispose();
      }
    },
    { scope: 'worker' },
  ],

  app: async ({ page, rendererDir, processEntries, notifierEnv }, use, testInfo) => {
    await runApp({ page, rendererDir, processEntries, notifierEnv, homeserver: undefined }, use, testInfo);
  },

  appOnKit: async ({ page, rendererDir, processEntries, notifierEnv, homeserver }, use, testInfo) => {
    await runApp({ page, rendererDir, processEntries, notifierEnv, homeserver }, use, testInfo);
  },
});

interface AppSetUp extends AppOptions {
  page: Page;
  rendererDir: string;
  processEntries: ProcessEntries;
  /** The server the app uses; undefined for its embedded one. */
  homeserver: KitHomeserver | undefined;
}

async function runApp(setUp: AppSetUp, use: (app: AppUnderTest) => Promise<void>, testInfo: TestInfo): Promise<void> {
  const { page, rendererDir, processEntries, notifierEnv, homeserver } = setUp;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-e2e-'));
  const logFile = testInfo.outputPath('host.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = (line: string): void => fs.appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
  const pageProblems = watchPage(page, log);
  log(`data dir ${dataDir}${notifierEnv === undefined ? '' : `, notifier env ${JSON.stringify(notifierEnv)}`}`);
  // A short race (the full one takes a minute or more) so the race panel can be tested end to end.
  const raceRunner = createDashboardRaceRunner({ messages: 40, durationS: 5, kills: 12 });
  const host = await startAppHost({
    dataDir,
    launcher: nodeNotifierLauncher(processEntries),
    syncLauncher: nodeSyncProcessLauncher(processEntries),
    raceRunner,
    log,
    ...(notifierEnv === undefined ? {} : { notifierEnv }),
    ...(homeserver === undefined ? {} : { homeserverUrl: homeserver.url, homeserverAdminToken: homeserver.adminToken }),
  });
  const bridge = await startUiHttpBridge({ backend: host.backend, staticDir: rendererDir, host: '127.0.0.1', port: 0, log });
  // bridge.url carries no secret, so it may be logged; the page opens launchUrl, the URL `todevice start` prints.
  log(`homeserver ${host.homeserverUrl}${homeserver === undefined ? ' (embedded)' : ' (the kit\'s)'}, dashboard ${bridge.url}`);
  try {
    await page.goto(bridge.launchUrl);
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
    await use({ url: bridge.url, backend: host.backend, dataDir, log });
    expect(pageProblems, 'page errors or CSP violations').toEqual([]);
  } finally {
    await bridge.close();
    await host.close();
    const failed = testInfo.status !== testInfo.expectedStatus;
    if (failed) await testInfo.attach('host.log', { path: logFile, contentType: 'text/plain' });
    else fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Logs the page's console and collects what must fail the test. */
export function watchPage(page: Page, log: (line: string) => void): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    log(`[page ${message.type()}] ${message.text()}`);
    if (/Content Security Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => {
    log(`[page error] ${error.stack ?? error.message}`);
    problems.push(error.message);
  });
  return problems;
}

export { expect };
