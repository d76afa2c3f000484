// `todevice start` in browser mode as a person runs it: it prints the one URL that opens the dashboard (with
// this launch's secret in its fragment), the bridge answers nothing without that secret, a second run on the
// same data directory reports the first run's figures apart, and `todevice reset` / `start --reset` empty the
// directory (refused while an app runs on it).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { DashboardSnapshot, UiResult } from '../../src/shared/ui-api';
import { tempDir, waitFor } from './support';

const cli = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));
const run = promisify(execFile);
const todevice = (...args: string[]) => run(process.execPath, [cli, ...args]);

interface StartedApp {
  child: ChildProcess;
  launchUrl: URL;
  token: string;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

async function startApp(dataDir: string, ...extra: string[]): Promise<StartedApp> {
  const child = spawn(process.execPath, [cli, 'start', '--web', '--port', '0', '--data', dataDir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line));
  readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(() => stdout.some((line) => line.startsWith('Dashboard: ')), 120_000, () => `no Dashboard line; stderr: ${stderr.join('\n')}`);
  const launchUrl = new URL(stdout.find((line) => line.startsWith('Dashboard: '))!.slice('Dashboard: '.length));
  const token = new URLSearchParams(launchUrl.hash.slice(1)).get('token') ?? '';
  return { child, launchUrl, token, stdout, stderr, exited };
}

async function stop(app: StartedApp): Promise<void> {
  app.child.kill('SIGINT');
  expect(await app.exited).toBe(0);
}

async function call<T>(app: StartedApp, channel: string, args: object, token: string | null = app.token): Promise<{ status: number; body: UiResult<T> }> {
  const response = await fetch(new URL(`/api/call/${channel}`, app.launchUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(args),
  });
  return { status: response.status, body: (await response.json()) as UiResult<T> };
}

async function snapshot(app: StartedApp): Promise<DashboardSnapshot> {
  const { body } = await call<DashboardSnapshot>(app, 'snapshot:get', {});
  if (!body.ok) throw new Error(body.error.message);
  return body.value;
}

describe('todevice start (browser mode)', () => {
  it('start: prints the dashboard URL with its secret once; without the secret the bridge refuses calls; a later run reports the earlier one apart; reset empties the directory', async () => {
    const dataDir = tempDir('start');
    const first = await startApp(dataDir);
    try {
      expect(first.launchUrl.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.token.length).toBeGreaterThanOrEqual(32);
      expect((await call(first, 'snapshot:get', {}, null)).status).toBe(401);
      expect((await call(first, 'traffic:send-to-device', { count: 5 }, 'not-the-secret-0123456789')).status).toBe(401);
      const sent = await call<{ sent: number }>(first, 'traffic:send-to-device', { count: 5 });
      expect(sent).toEqual({ status: 200, body: { ok: true, value: { sent: 5 } } });
      await waitFor(async () => (await snapshot(first)).counters.received >= 5, 30_000, () => 'the 5 messages were not received');

      const inUse = await todevice('reset', '--data', dataDir).then(() => undefined, (error: { code: number; stderr: string }) => error);
      expect(inUse?.code).toBe(2);
      expect(inUse?.stderr).toMatch(/in use by a running todevice app/);
      expect(fs.existsSync(`${dataDir}/client.db`)).toBe(true);
    } finally {
      await stop(first);
    }
    expect(first.stdout.join('\n').split(first.token)).toHaveLength(2);
    expect(first.stderr.join('\n')).not.toContain(first.token);

    const second = await startApp(dataDir);
    try {
      expect(second.token).not.toBe(first.token);
      const view = await snapshot(second);
      expect(view.earlierRuns?.counters.sent).toBeGreaterThanOrEqual(5);
      expect(view.earlierRuns?.counters.received).toBe(view.earlierRuns?.counters.sent);
      expect(view.run.startedAtMs).toBeGreaterThan(Date.now() - 120_000);
    } finally {
      await stop(second);
    }

    const reset = await todevice('reset', '--data', dataDir);
    expect(reset.stdout).toMatch(/deleted client\.db.*homeserver\.db/);
    expect(fs.existsSync(`${dataDir}/client.db`)).toBe(false);

    // Some figures again, then --reset before the next start.
    const third = await startApp(dataDir);
    await call(third, 'traffic:send-to-device', { count: 2 });
    await stop(third);
    const fourth = await startApp(dataDir, '--reset');
    try {
      expect(fourth.stderr.join('\n')).toMatch(/reset .* \(deleted client\.db/);
      const view = await snapshot(fourth);
      expect(view.earlierRuns).toBeNull();
    } finally {
      await stop(fourth);
    }
  }, 400_000);
});
