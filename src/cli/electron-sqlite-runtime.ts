/**
 * The real effects behind src/cli/electron-sqlite.ts: this machine's files, child processes, environment and
 * clock, and where the project's better-sqlite3 and todevice's cache are.
 *
 * Runtime: node. A child's output is captured whole (a compile prints a few hundred kilobytes) so the build log
 * can keep it; a child that outlives its time is killed, so a stalled download cannot hang `todevice start`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { defaultCacheDir } from './data-paths';
import type { BuildFs, RunOptions, RunOutcome, SqliteBuildRuntime, SqliteForElectronOptions } from './electron-sqlite';

const nodeBuildFs: BuildFs = {
  exists: (file) => fs.existsSync(file),
  readText: (file) => fs.readFileSync(file, 'utf8'),
  writeText: (file, text) => fs.writeFileSync(file, text),
  makeDir: (dir) => void fs.mkdirSync(dir, { recursive: true }),
  makeTempDir: (parent, prefix) => fs.mkdtempSync(path.join(parent, prefix)),
  copy: (from, to) => fs.cpSync(from, to, { recursive: true }),
  rename: (from, to) => fs.renameSync(from, to),
  remove: (target) => fs.rmSync(target, { recursive: true, force: true }),
};

function runCaptured(command: string, args: string[], options: RunOptions): Promise<RunOutcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let failure: string | undefined;
    const timer = setTimeout(() => {
      failure = `timed out after ${Math.round(options.timeoutMs / 1000)} s`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    const finish = (exitCode: number | null, why?: string): void => {
      clearTimeout(timer);
      const reason = failure ?? why;
      resolve({
        exitCode: reason === undefined ? exitCode : null,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        ...(reason === undefined ? {} : { failure: reason }),
      });
    };
    child.once('error', (error) => finish(null, `could not start ${command}: ${error.message}`));
    child.once('close', (code, signal) => finish(code, signal === null ? undefined : `was stopped by ${signal}`));
  });
}

export function nodeSqliteBuildRuntime(log: (line: string) => void): SqliteBuildRuntime {
  return {
    env: process.env,
    nodePath: process.execPath,
    fs: nodeBuildFs,
    run: runCaptured,
    resolveFrom: (fromDir, request) => {
      try {
        return createRequire(path.join(fromDir, 'package.json')).resolve(request);
      } catch {
        return undefined;
      }
    },
    log,
    nowMs: () => Date.now(),
  };
}

/** The options `todevice start` uses: the project's better-sqlite3 and `<XDG cache>/todevice/sqlite-electron`. */
export function defaultSqliteForElectronOptions(electronBinary: string): SqliteForElectronOptions {
  const sqlitePackage = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
  return {
    electronBinary,
    sqlitePackageDir: path.dirname(sqlitePackage),
    cacheRoot: path.join(defaultCacheDir(), 'sqlite-electron'),
    tempRoot: os.tmpdir(),
  };
}
