/**
 * How the project starts its own process entries (the notifier and the main sync process) under plain Node,
 * cheaply: the app host (`todevice start` in browser mode, `todevice headless`), the race harness and the bench.
 *
 * Runtime: node. tsx's start-up (0.3-0.5 s of TypeScript transpiling per process; the main sync process's first
 * consume pass 280 to 360 ms after its spawn, against 81 to 87 ms bundled, on a quiet machine) would be paid on
 * every push and every restart, and a race run starts hundreds of short-lived processes. So the entries are
 * bundled once, when the host or the run starts, with esbuild (which tsx already ships) into a temporary
 * directory and started as plain `node bundle.mjs`. better-sqlite3 and the two crypto libraries (each loads its
 * .wasm beside itself; libolm's olm.js also needs CommonJS `require` and `__dirname`) stay outside the bundle
 * and are loaded by absolute path (the CommonJS ones with `require`, see `requiredByPath`), so the bundle runs
 * from any directory. The bundle is built from the same source files; nothing is reimplemented. When esbuild
 * cannot be loaded or fails, the entries are started through tsx instead: slower, same behaviour (`mode` says
 * which). Either way an entry gets the V8 options the app starts it with (the launchers' constants). The Electron
 * app starts electron-vite's build of the same entries as utility processes instead (src/main/electron).
 *
 * Two ways of starting a child (`ChildUse`): for the `host`, a child's output goes to the host's own and it
 * inherits the environment as it is (a `TODEVICE_KILL_AT` given to `todevice start` arms the processes the app
 * starts); for the `harness`, stdout is dropped, stderr is piped so the caller keeps its tail, and kill points
 * come only from the `env` the caller passes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NOTIFIER_V8_FLAGS } from './notifier-launcher';
import { SYNC_PROCESS_V8_FLAGS } from './sync-process-launcher';

/** The app's two entries, and the bench's handoff floor (a bare process started the same way, to compare with). */
export type EntryName = 'notifier' | 'main-sync' | 'handoff-floor';

const sourceEntries: Record<EntryName, string> = {
  notifier: fileURLToPath(new URL('../../notifier/index.ts', import.meta.url)),
  'main-sync': fileURLToPath(new URL('../sync-process/index.ts', import.meta.url)),
  'handoff-floor': fileURLToPath(new URL('../../bench/handoff-floor/index.ts', import.meta.url)),
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
  /** Why the entries are not bundled (`mode` is `tsx`): esbuild's error, one line. */
  fallbackReason?: string;
  /** Starts `entry` with an IPC channel; its output and environment as `ChildUse` says. */
  start(entry: EntryName, argv: string[], env: Record<string, string>): StartedProcess;
  /**
   * Removes the bundle. Call it once the processes started from it have stopped: a notifier has read its one file
   * when it starts, but the main sync process imports its later chunks after its first consume pass.
   */
  dispose(): void;
}

/** Who starts the children, which decides their output and environment (see the header). */
export type ChildUse = 'host' | 'harness';

export async function prepareEntries(use: ChildUse = 'harness'): Promise<ProcessEntries> {
  const bundled = await bundleEntries().then(
    (dir) => ({ ok: true as const, dir }),
    (error: unknown) => ({ ok: false as const, reason: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '' }),
  );
  if (bundled.ok) {
    return {
      mode: 'bundle',
      start: (entry, argv, env) => startProcess(use, path.join(bundled.dir, `${entry}.mjs`), [...entryV8Flags[entry]], argv, env),
      dispose: () => fs.rmSync(bundled.dir, { recursive: true, force: true }),
    };
  }
  const tsx = ['--import', import.meta.resolve('tsx')];
  return {
    mode: 'tsx',
    fallbackReason: bundled.reason,
    start: (entry, argv, env) => startProcess(use, sourceEntries[entry], [...entryV8Flags[entry], ...tsx], argv, env),
    dispose: () => undefined,
  };
}

/** Bundles the entries into a new temporary directory and returns it (the caller removes it). */
export async function bundleEntries(): Promise<string> {
  const esbuild = (await import('esbuild')) as typeof import('esbuild');
  const { resolve } = createRequire(import.meta.url);
  // The rust-sdk crypto library loads its .wasm file relative to itself; an ES module, it is imported by absolute URL.
  const cryptoLibrary = import.meta.resolve('@matrix-org/matrix-sdk-crypto-wasm');
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-entries-'));
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

function startProcess(use: ChildUse, file: string, execArgv: string[], argv: string[], env: Record<string, string>): StartedProcess {
  const child = fork(file, argv, {
    execArgv,
    ...(use === 'host'
      ? { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }
      : { env: childEnvironment(env), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }),
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return { child, pid: child.pid ?? -1, exited };
}
