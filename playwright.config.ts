/**
 * Playwright: the `web` project drives Chromium (Playwright's own build where installed, else Debian's
 * /usr/bin/chromium, or CHROMIUM_PATH); the `electron` project launches the Electron app and skips, printing
 * why, where no Electron binary exists. Traces, screenshots and logs of a failed test are kept in test-results/.
 */
import fs from 'node:fs';
import { defineConfig } from '@playwright/test';
import { chromiumExecutablePath } from './e2e/support/chromium-path';

const executablePath = chromiumExecutablePath(fs.existsSync);

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  timeout: 60_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'web',
      testIgnore: /electron\/.*/,
      use: {
        browserName: 'chromium',
        launchOptions: {
          ...(executablePath ? { executablePath } : {}),
          // Without these, Chromium keeps trying to reach Google's services, which this machine cannot.
          args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        },
      },
    },
    { name: 'electron', testMatch: /electron\/.*\.spec\.ts/ },
  ],
});
