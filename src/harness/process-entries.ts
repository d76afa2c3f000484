/**
 * How the harness starts the app's own process entries (the notifier and the main sync process) cheaply.
 *
 * Runtime: node. A race run starts hundreds of short-lived processes, and tsx's start-up (0.3-0.5 s of
 * TypeScript transpiling per process) would dominate it. So the two entries are bundled once per run with
 * esbuild (which tsx already ships) into a temporary directory and started as plain `node bundle.mjs` (about
 * 0.1 s). better-sqlite3 and the two crypto libraries (each loads its .wasm beside itself; libolm's olm.js also
 * needs CommonJS `require` and `__dirname`) stay outside the bundle and are loaded by absolute path (the
 * CommonJS ones with `require`, see `requiredByPath`), so the bundle runs from any directory. The bundle is
 * built from the same source files the app runs; nothing is reimplemented. When esbuild cannot be loaded the
 * entries are started through tsx instead: slower, same behaviour. Either way an entry gets the V8 options the
 * app starts it with (the main sync process's young-generation cap).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Bundles the entries into a new temporary directory and returns it (the caller removes it). */
export async function bundleEntries(): Promise<string> {
  const esbuild = (await import('esbuild')) as typeof import('esbuild');
  const { resolve } = createRequire(import.meta.url);
  // The rust-sdk crypto library loads its .wasm file relative to itself; an ES module, it is imported by absolute URL.
  const cryptoLibrary = import.meta.resolve('@matrix-org/matrix-sdk-crypto-wasm');
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-race-bundle-'));
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    plugins: [
      requiredByPath({ 'better-sqlite3': resolve('better-sqlite3'), '@matrix-org/olm': resolve('@matrix-org/olm') }),
      {
        name: 'external-crypto',
        setup: (build) => void build.onResolve({ filter: /^@matrix-org\/matrix-sdk-crypto-wasm$/ }, () => ({ path: cryptoLibrary, external: true })),
      },
    ],
  } satisfies import('esbuild').BuildOptions;
  const { 'main-sync': mainSync, ...singleFile } = sourceEntries;
  // The main sync process is split at its dynamic imports, so what it runs before the sync loop (the consume
  // pass of a process starting again after a kill) loads the store's modules only, not Node's HTTP client or
  // node:crypto (src/main/host/main-consumer.ts). A notifier needs nearly all of its code at once, so it stays
  // one file: every extra chunk is another module for Node's ESM loader to load.
  await Promise.all([
    esbuild.build({ ...common, entryPoints: singleFile }),
    esbuild.build({ ...common, entryPoints: { 'main-sync': mainSync }, splitting: true, chunkNames: 'chunks/main-sync-[hash]' }),
  ]);
  return outdir;
}

const REQUIRED_NAMESPACE = 'required-by-path';

/**
 * Stands in for CommonJS packages (`specifier` → absolute path of its main file): the bundle loads each with
 * `require` from that path, where it runs from its own folder (libolm's olm.js finds olm.wasm beside itself),
 * and a dynamic `import()` of it still loads it only when called. Not an `import` of the file: Node's ESM
 * loader would first scan a CommonJS file for its export names (cjs-module-lexer), and under the notifier's
 * `--no-concurrent-recompilation` V8 optimizes that scanner on the main thread, about 20 ms of every
 * notifier's start for olm.js alone (measured with `--cpu-prof`).
 */
function requiredByPath(paths: Record<string, string>): import('esbuild').Plugin {
  const filter = new RegExp(`^(${Object.keys(paths).map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`);
  return {
    name: REQUIRED_NAMESPACE,
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: REQUIRED_NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: REQUIRED_NAMESPACE }, (args) => ({
        contents: `import { createRequire } from 'node:module';\nexport default createRequire(import.meta.url)(${JSON.stringify(paths[args.path])});\n`,
        loader: 'js',
      }));
    },
  };
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
