import { defineConfig } from 'vitest/config';

// Unit, conformance, property and real-process tests. Playwright's e2e/ runs separately (playwright.config.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real-process and conformance tests start servers and child processes; two cores are all CI has.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
