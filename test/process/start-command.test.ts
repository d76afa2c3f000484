/**
 * `todevice start` as a person runs it, both doors. Without an Electron binary it says so in one line and serves
 * the dashboard in the browser. With one, the first start builds better-sqlite3 for it into the cache (progress
 * on stderr), hands the path to the app, and later starts reuse it; a failed build is one line and exit code 1.
 *
 * No Electron binary can be downloaded on the machine these tests were written on, so the Electron here is a
 * stand-in (ELECTRON_OVERRIDE_DIST_PATH, which the electron package honours): run as Node it answers as Electron
 * 41.7.1 with this Node's ABI, run as the app it writes down what it was given and exits. node-gyp is a stand-in
 * too (npm_config_node_gyp, the setting npm itself uses), which copies the Node build of better-sqlite3; that build
 * loads under the stand-in, so the real CLI, the real runtime and the real cache are exercised end to end.
 * prebuild-install is the real one, pointed at a closed port on 127.0.0.1 so its download fails at once.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from './support';

const cli = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));
const nodeBuild = fileURLToPath(new URL('../../node_modules/better-sqlite3/build/Release/better_sqlite3.node', import.meta.url));
/** Each start runs the CLI through tsx (about 6 s on a loaded 2-core machine) and may rebuild the app bundles. */
const startTimeoutMs = 180_000;
const sqliteVersion = (JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../node_modules/better-sqlite3/package.json', import.meta.url)), 'utf8')) as { version: string }).version;

interface Started {
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function startCli(args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const started: Started = {
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    kill: (signal) => void child.kill(signal),
  };
  readline.createInterface({ input: child.stdout }).on('line', (line) => started.stdout.push(line));
  readline.createInterface({ input: child.stderr }).on('line', (line) => started.stderr.push(line));
  return started;
}

let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-start-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('todevice start', () => {
  it('start: without an Electron binary, one line says so and the dashboard is served in the browser', async () => {
    const noElectron = path.join(root, 'no-electron');
    fs.mkdirSync(noElectron);
    const app = startCli(['start', '--data', path.join(root, 'data'), '--port', '0'], { ELECTRON_OVERRIDE_DIST_PATH: noElectron });
    try {
      await waitFor(() => app.stdout.some((line) => line.startsWith('Dashboard: ')), 90_000, () => `no dashboard: ${app.stderr.join('\n')}`);
      expect(app.stderr).toContain(`todevice: no Electron binary at ${path.join(noElectron, 'electron')}; serving the dashboard in your browser instead`);
      const url = app.stdout.find((line) => line.startsWith('Dashboard: '))?.slice('Dashboard: '.length) ?? '';
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
    } finally {
      app.kill('SIGTERM');
    }
    expect(await app.exited).toBe(0);
  }, startTimeoutMs);

  describe('with an Electron binary', () => {
    let env: Record<string, string>;
    let report: string;
    let gypCalls: string;
    let entry: string;

    beforeEach(() => {
      const electronDir = path.join(root, 'electron');
      fs.mkdirSync(electronDir);
      report = path.join(root, 'app-report.json');
      gypCalls = path.join(root, 'node-gyp-calls.txt');
      writeFakeElectron(path.join(electronDir, 'electron'), report);
      env = {
        ELECTRON_OVERRIDE_DIST_PATH: electronDir,
        XDG_CACHE_HOME: path.join(root, 'cache'),
        npm_config_node_gyp: writeFakeNodeGyp(path.join(root, 'node-gyp.cjs'), gypCalls, 'works'),
        npm_config_better_sqlite3_binary_host: 'http://127.0.0.1:9',
        npm_config_cache: path.join(root, 'npm-cache'),
        // Set in the user's shell it must not reach the app, or Electron would run the app folder as a script.
        ELECTRON_RUN_AS_NODE: '1',
      };
      entry = path.join(root, 'cache', 'todevice', 'sqlite-electron', `electron-41.7.1-abi${process.versions.modules}-${process.platform}-${process.arch}-better-sqlite3-${sqliteVersion}`);
    });

    it('start: the first start builds better-sqlite3 for Electron with progress lines and hands it to the app; the next reuses it', async () => {
      const first = startCli(['start', '--data', path.join(root, 'data')], env);
      expect(await first.exited).toBe(0);

      const binding = path.join(entry, 'better_sqlite3.node');
      const given = JSON.parse(fs.readFileSync(report, 'utf8')) as { binding?: string; runAsNode: string | null; dataDir?: string };
      expect(given).toEqual({ binding, runAsNode: null, dataDir: path.join(root, 'data') });
      expect(fs.readFileSync(binding).equals(fs.readFileSync(nodeBuild))).toBe(true);
      const calls = fs.readFileSync(gypCalls, 'utf8').trim().split('\n');
      expect(calls).toEqual([
        `rebuild --release --runtime=electron --target=41.7.1 --arch=${process.arch} --dist-url=https://electronjs.org/headers --jobs=max`,
      ]);
      const progress = first.stderr.filter((line) => /better-sqlite3|prebuilt/.test(line));
      expect(progress[0]).toBe(`todevice: building better-sqlite3 ${sqliteVersion} for Electron 41.7.1 (first start only, about 1-3 min)…`);
      expect(progress[1]).toMatch(/^todevice: {3}no prebuilt binary \(.*ECONNREFUSED.*\); compiling from source with node-gyp…$/);
      expect(progress[2]).toMatch(new RegExp(`^todevice: better-sqlite3 for Electron 41\\.7\\.1 is ready \\(compiled in \\d+ s\\), cached at ${escape(binding)}$`));

      fs.rmSync(report);
      const second = startCli(['start', '--data', path.join(root, 'data')], env);
      expect(await second.exited).toBe(0);
      expect((JSON.parse(fs.readFileSync(report, 'utf8')) as { binding?: string }).binding).toBe(binding);
      expect(fs.readFileSync(gypCalls, 'utf8').trim().split('\n')).toHaveLength(1);
      expect(second.stderr.filter((line) => line.includes('better-sqlite3'))).toEqual([]);
    }, startTimeoutMs);

    it('start: a failed build is one line of what to do, exit code 1, no cache entry, and the app is not opened', async () => {
      env.npm_config_node_gyp = writeFakeNodeGyp(path.join(root, 'node-gyp.cjs'), gypCalls, 'fails');

      const app = startCli(['start', '--data', path.join(root, 'data')], env);

      expect(await app.exited).toBe(1);
      const failures = app.stderr.filter((line) => line.startsWith('todevice: could not build'));
      expect(failures).toHaveLength(1);
      expect(failures[0]).toContain('node-gyp exited with code 1');
      expect(failures[0]).toContain('todevice start --web');
      expect(app.stderr.at(-1)).toBe(failures[0]);
      expect(app.stderr.join('\n')).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(entry)).toBe(false);
      expect(fs.readFileSync(`${entry}.build.log`, 'utf8')).toContain('gyp ERR! not ok');
      expect(fs.existsSync(report)).toBe(false);
    }, startTimeoutMs);
  });
});

/** A stand-in Electron: as Node (ELECTRON_RUN_AS_NODE=1) it runs `-e` scripts as Electron 41.7.1; as the app it reports and exits. */
function writeFakeElectron(file: string, reportFile: string): void {
  const source = [
    `#!${process.execPath}`,
    "const fs = require('node:fs');",
    "if (process.env.ELECTRON_RUN_AS_NODE === '1') {",
    "  if (process.argv[2] !== '-e') process.exit(9);",
    "  process.versions.electron = '41.7.1';",
    '  eval(process.argv[3]);',
    '} else {',
    `  fs.writeFileSync(${JSON.stringify(reportFile)}, JSON.stringify({`,
    '    binding: process.env.TODEVICE_SQLITE_ELECTRON_BINDING,',
    '    runAsNode: process.env.ELECTRON_RUN_AS_NODE ?? null,',
    '    dataDir: process.env.TODEVICE_DATA_DIR,',
    '  }));',
    '}',
  ].join('\n');
  fs.writeFileSync(file, source, { mode: 0o755 });
}

/** A stand-in node-gyp: writes down its arguments, then "builds" by copying the Node build, or fails as node-gyp does. */
function writeFakeNodeGyp(file: string, callsFile: string, outcome: 'works' | 'fails'): string {
  const source = [
    "const fs = require('node:fs');",
    "const path = require('node:path');",
    `fs.appendFileSync(${JSON.stringify(callsFile)}, process.argv.slice(2).join(' ') + '\\n');`,
    outcome === 'fails'
      ? "process.stderr.write('gyp info it worked if it ends with ok\\ngyp ERR! not ok\\n'); process.exit(1);"
      : [
          "fs.mkdirSync(path.join('build', 'Release'), { recursive: true });",
          `fs.copyFileSync(${JSON.stringify(nodeBuild)}, path.join('build', 'Release', 'better_sqlite3.node'));`,
        ].join('\n'),
  ].join('\n');
  fs.writeFileSync(file, source);
  return file;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
