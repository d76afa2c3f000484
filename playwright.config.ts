/**
 * Playwright: the `web` project drives Chromium (Playwright's own build where installed, else Debian's
 * /usr/bin/chromium, or CHROMIUM_PATH); the `electron` project launches the Electron app and skips, printing
 * why, where no Electron binary exists; the `examples` project runs the Playwright kit's worked example
 * (examples/playwright-js-sdk) in the same Chromium. Traces, screenshots and logs of a failed test, and the screenshots the
 * layout tests take, are kept in test-results/ (ignored by git), so a test run changes no tracked file.
 *
 * The `readme-screenshot` project, which rewrites docs/dashboard.png, exists only when
 * TODEVICE_README_SCREENSHOT=1: `npm run screenshot` sets it. A plain `npx playwright test` never sees it.
 */
import fs from 'node:fs';
import { defineConfig } from '@playwright/test';
import { chromiumExecutablePath } from './e2e/support/chromium-path';

const executablePath = chromiumExecutablePath(fs.existsSync);
const chromium = {
  browserName: 'chromium' as const,
  launchOptions: {
    ...(executablePath ? { executablePath } : {}),
    // Without these, Chromium keeps trying to reach Google's services, which this machine cannot.
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  },
};
const readmeScreenshot = process.env.TODEVICE_README_SCREENSHOT === '1';

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  timeout: 60_000,
  // The suite shares two cores with other work; an assertion waits this long before it fails.
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'web', testDir: './e2e', testIgnore: /(electron|screenshot)\/.*/, use: chromium },
    { name: 'electron', testDir: './e2e', testMatch: /electron\/.*\.spec\.ts/ },
    // The worked example of the Playwright kit (`todevice/playwright`), run as an outside project would run it.
    { name: 'examples', testDir: './examples', use: chromium },
    ...(readmeScreenshot ? [{ name: 'readme-screenshot', testDir: './e2e', testMatch: /screenshot\/.*\.spec\.ts/, use: chromium }] : []),
  ],
});
