/**
 * How the harness starts the app's own process entries (the notifier and the main sync process) cheaply.
 *
 * Runtime: node. A race run starts hundreds of short-lived processes, and tsx's start-up (0.3-0.5 s of
 * TypeScript transpiling per process) would dominate it. So the two entries are bundled once per run with
 * esbuild (which tsx already ships) into a temporary directory and started as plain `node bundle.mjs` (about
 * 0.1 s). better-sqlite3 and the two crypto libraries (each loads its .wasm beside itself; libolm's olm.js also
 * needs CommonJS `require` and `__dirname`) stay external and are imported by absolute path, so the bundle runs
 * from any directory. The bundle is built from the same source files the app runs; nothing is reimplemented. When
 * esbuild cannot be loaded the entries are started through tsx instead: slower, same behaviour. Either way an
 * entry gets the V8 options the app starts it with (the main sync process's young-generation cap).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NOTIFIER_V8_FLAGS } from '../main/host/notifier-launcher';
import { SYNC_PROCESS_V8_FLAGS } from '../main/host/sync-process-launcher';

/** The app's two entries, and the bench's handoff floor (a bare process started the same way, to compare with). */
export type EntryName = 'notifier' | 'main-sync' | 'handoff-floor';

const sourceEntries: Record<EntryName, string> = {
  notifier: fileURLToPath(new URL('../notifier/index.ts', import.meta.url)),
  'main-sync': fileURLToPath(new URL('../main/sync-process/index.ts', import.meta.url)),
  'handoff-floor': fileURLToPath(new URL('../bench/handoff-floor/index.ts', import.meta.url)),
};

/** V8 options per entry, as the app starts it (its launcher's: src/main/host/sync-process-launcher.ts, notifier-launcher.ts). */
const entryV8Flags: Record<EntryName, readonly string[]> = {
  notifier: NOTIFIER_V8_FLAGS,
  'main-sync': SYNC_PROCESS_V8_FLAGS,
  'handoff-floor': [],
};

export interface StartedProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export interface ProcessEntries {
  /** `bundle` (plain node) or `tsx` (fallback). */
  mode: 'bundle' | 'tsx';
  /** stdout is ignored (reports come over IPC); stderr is piped so the caller can keep its tail. */
  start(entry: EntryName, argv: string[], env: Record<string, string>): StartedProcess;
  dispose(): void;
}

export async function prepareEntries(): Promise<ProcessEntries> {
  const bundled = await bundleEntries().catch(() => undefined);
  if (bundled !== undefined) {
    return {
      mode: 'bundle',
      start: (entry, argv, env) => startProcess(path.join(bundled, `${entry}.mjs`), [...entryV8Flags[entry]], argv, env),
      dispose: () => fs.rmSync(bundled, { recursive: true, force: true }),
    };
  }
  const tsx = ['--import', import.meta.resolve('tsx')];
  return {
    mode: 'tsx',
    start: (entry, argv, env) => startProcess(sourceEntries[entry], [...entryV8Flags[entry], ...tsx], argv, env),
    dispose: () => undefined,
  };
}

async function bundleEntries(): Promise<string> {
  const esbuild = (await import('esbuild')) as typeof import('esbuild');
  const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  // The crypto library loads its .wasm file relative to itself, so it stays external too (by absolute URL).
  const cryptoLibrary = import.meta.resolve('@matrix-org/matrix-sdk-crypto-wasm');
  const olmLibrary = pathToFileURL(createRequire(import.meta.url).resolve('@matrix-org/olm')).href;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-race-bundle-'));
  await esbuild.build({
    entryPoints: sourceEntries,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    plugins: [
      { name: 'external-sqlite', setup: (build) => void build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: betterSqlite, external: true })) },
      {
        name: 'external-crypto',
        setup: (build) => void build.onResolve({ filter: /^@matrix-org\/matrix-sdk-crypto-wasm$/ }, () => ({ path: cryptoLibrary, external: true })),
      },
      { name: 'external-olm', setup: (build) => void build.onResolve({ filter: /^@matrix-org\/olm$/ }, () => ({ path: olmLibrary, external: true })) },
    ],
  });
  return outdir;
}

/**
 * This process's environment for a child, plus `env`. Kill points come only from `env`: a TODEVICE_KILL_AT
 * inherited from the harness's (or the bench's) own environment would arm every process it starts.
 */
export function childEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  const { TODEVICE_KILL_AT: _at, TODEVICE_KILL_PROCESS: _process, ...inherited } = process.env;
  return { ...inherited, ...env };
}

function startProcess(file: string, execArgv: string[], argv: string[], env: Record<string, string>): StartedProcess {
  const child = fork(file, argv, { execArgv, env: childEnvironment(env), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return { child, pid: child.pid ?? -1, exited };
}
