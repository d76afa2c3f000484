#!/usr/bin/env node
// `npm run screenshot`: takes the README's picture of the dashboard again (docs/dashboard.png) from the real app,
// with the `readme-screenshot` Playwright project (e2e/screenshot/readme.spec.ts). It is the only command that
// writes that tracked file; `npm test` leaves it alone. Playwright's own output goes to test-results/ (ignored).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const result = spawnSync('npx', ['playwright', 'test', '--project', 'readme-screenshot', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TODEVICE_README_SCREENSHOT: '1' },
});
if (result.status === 0) process.stdout.write(`\nwrote ${path.join(root, 'docs', 'dashboard.png')}\n`);
process.exit(result.status ?? 1);
