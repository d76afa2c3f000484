/**
 * The README's first command, run as a newcomer runs it: `npm start` in a fresh checkout. The checkout is every
 * file git tracks (as it is in the work tree) copied to a temporary folder, with this repository's node_modules
 * linked in: exactly what `git clone` plus `npm ci` gives, in which npm links no `todevice` into
 * node_modules/.bin. The test waits for the `Dashboard:` line, opens the printed URL and checks that the dashboard
 * is live and that the demo traffic arrives, then stops npm with SIGINT as a person at a terminal would.
 *
 * Runtime: Playwright (node). The data and cache folders (XDG_DATA_HOME, XDG_CACHE_HOME) point into the temporary
 * folder, so the test never touches the user's own data.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'todevice/playwright';

const repository = fileURLToPath(new URL('../..', import.meta.url));

/** The tracked files of the work tree, copied; node_modules linked. */
function freshCheckout(): string {
  const checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-checkout-'));
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached'], { cwd: repository, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of tracked) {
    const from = path.join(repository, file);
    if (!fs.existsSync(from)) continue; // deleted in the work tree, not yet committed
    const to = path.join(checkout, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  }
  fs.symlinkSync(path.join(repository, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
  return checkout;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // npm runs the script through a shell; the whole process group gets the interrupt, as at a terminal.
  if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
  return exited;
}

test('quick start: `npm start` in a fresh checkout serves a live dashboard at the URL it prints', async ({ page }) => {
  test.setTimeout(240_000);
  const checkout = freshCheckout();
  const home = path.join(checkout, '.home');
  const child = spawn('npm', ['start'], {
    cwd: checkout,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_DATA_HOME: path.join(home, 'data'), XDG_CACHE_HOME: path.join(home, 'cache') },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  const dashboardUrl = (): string | undefined => {
    const url = /Dashboard: (\S+)/.exec(stdout)?.[1];
    if (url === undefined && exitCode !== undefined) throw new Error(`npm start exited (${exitCode}) without a dashboard:\n${stdout}\n${stderr}`);
    return url;
  };
  try {
    await expect.poll(dashboardUrl, { timeout: 180_000, message: 'npm start printed no Dashboard line' }).toBeDefined();
    expect(stderr).not.toMatch(/not found|command not found/);
    const url = /Dashboard: (\S+)/.exec(stdout)?.[1] ?? '';
    await page.goto(url);
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live', { timeout: 30_000 });
    // The demo sender's trickle of to-device messages reaches the main process with no set-up.
    await expect.poll(async () => Number(await page.getByTestId('counter-received').getAttribute('data-value')), { timeout: 60_000 }).toBeGreaterThan(0);
  } finally {
    await stop(child);
    fs.rmSync(checkout, { recursive: true, force: true });
  }
});
