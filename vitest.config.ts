import { defineConfig } from 'vitest/config';

// Unit, conformance, property and real-process tests. Playwright's e2e/ runs separately (playwright.config.ts).
// The kill campaign (test/harness/campaign.test.ts) uses both cores for minutes, so `npm test` runs it as a step of
// its own after everything else (TODEVICE_CAMPAIGN=1); run it alone with `npm run test:campaign`.
const campaign = 'test/harness/campaign.test.ts';
const campaignOnly = process.env.TODEVICE_CAMPAIGN === '1';

export default defineConfig({
  test: {
    include: campaignOnly ? [campaign] : ['test/**/*.test.ts'],
    exclude: campaignOnly ? [] : [campaign, '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real-process and conformance tests start servers and child processes; two cores are all CI has.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
