/**
 * Gives the Electron app a better-sqlite3 binary built for Electron's ABI: the one in todevice's cache, or one
 * built into it on the first start. The Node build in node_modules, which the tests and the CLI load, is never
 * touched.
 *
 * Runtime: node (the `todevice start` process, before it spawns Electron). Electron's native-module ABI differs
 * from Node's, so the build `npm ci` made cannot load in the app. What is guaranteed, and why:
 * - The cache key comes from the Electron binary itself, run as Node (ELECTRON_RUN_AS_NODE): its version, ABI,
 *   platform and arch, plus the better-sqlite3 version whose JavaScript will drive the binary. So a key always
 *   describes the binary that will load the file, even under ELECTRON_OVERRIDE_DIST_PATH.
 * - A cached binary is used only after it loaded under that Electron on this start. One that does not load
 *   (truncated, or made by something else) is deleted and built again instead of failing inside the app.
 * - A build happens in a temporary copy of node_modules/better-sqlite3 in the system's temp folder: first
 *   better-sqlite3's own prebuilt binary for this Electron (prebuild-install, seconds), else a compile from source
 *   against Electron's headers (node-gyp, minutes). The result enters the cache only after it loaded, staged next
 *   to its final name and moved there with one rename, so an entry is whole or absent, whenever the build stops.
 * - A failed build leaves no entry and comes back as one line that says what to do; its full output is kept in
 *   a log file beside the cache entries.
 * Every effect (files, child processes, environment, clock, output) goes through `SqliteBuildRuntime`, so the
 * tests drive each branch with a fake one.
 */
import path from 'node:path';
import { SQLITE_ELECTRON_BINDING_ENV } from '../shared/electron-sqlite';
import { err, ok, type Result } from '../shared/result';

/** Where node-gyp downloads Electron's headers from (what @electron/rebuild uses). */
export const ELECTRON_HEADERS_URL = 'https://electronjs.org/headers';
export const BINDING_FILE = 'better_sqlite3.node';
/** The parts of better-sqlite3's package a build needs (its npm `files` plus package.json); never its build/. */
const PACKAGE_PARTS = ['package.json', 'binding.gyp', 'src', 'deps'];
const BUILT_BINDING = path.join('build', 'Release', BINDING_FILE);

const IDENTIFY_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 60_000;
/** prebuild-install gives up on a stalled download after 30 s by itself; this bounds the whole attempt. */
const PREBUILT_TIMEOUT_MS = 3 * 60_000;
/** A compile takes 1-3 minutes; twenty means it hangs (a stalled header download, say). */
const COMPILE_TIMEOUT_MS = 20 * 60_000;

/** What the Electron binary says of itself when run as Node. */
export interface ElectronIdentity {
  version: string;
  /** NODE_MODULE_VERSION, the number a native module must be built for (145 for Electron 41). */
  abi: string;
  platform: string;
  arch: string;
}

export interface RunOptions {
  cwd?: string;
  env: Record<string, string | undefined>;
  timeoutMs: number;
}

export interface RunOutcome {
  /** Null when the program did not start, was killed, or ran out of time. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Why the program did not end on its own (could not start, signal, timeout). */
  failure?: string;
}

/** The file operations a build needs; every path is absolute. */
export interface BuildFs {
  exists(file: string): boolean;
  readText(file: string): string;
  writeText(file: string, text: string): void;
  /** Creates a folder and its parents; an existing folder is fine. */
  makeDir(dir: string): void;
  /** Creates a new, empty folder with a unique name under `parent`; returns its path. */
  makeTempDir(parent: string, prefix: string): string;
  /** Copies a file or a folder tree. */
  copy(from: string, to: string): void;
  /** Moves a file, replacing what is at `to`, in one step (one file system). */
  rename(from: string, to: string): void;
  /** Removes a file or a folder tree; a missing one is fine. */
  remove(target: string): void;
}

export interface SqliteBuildRuntime {
  env: Readonly<Record<string, string | undefined>>;
  /** The Node that runs prebuild-install and node-gyp (the CLI's own, process.execPath). */
  nodePath: string;
  fs: BuildFs;
  /** Runs a program to its end, its output captured; never throws for a failure of the program. */
  run(command: string, args: string[], options: RunOptions): Promise<RunOutcome>;
  /** Resolves a module file as `require` from `fromDir` would, or undefined when it is not installed. */
  resolveFrom(fromDir: string, request: string): string | undefined;
  /** Prints one progress line for the user. */
  log(line: string): void;
  nowMs(): number;
}

export interface SqliteForElectronOptions {
  electronBinary: string;
  /** The project's node_modules/better-sqlite3: the JavaScript the app loads, and the source a build copies. */
  sqlitePackageDir: string;
  /** Folder of cache entries, `<XDG cache>/todevice/sqlite-electron`. */
  cacheRoot: string;
  /** Where temporary build folders go (the system's temp folder; what is left there after a crash is litter only). */
  tempRoot: string;
}

export interface SqliteForElectron {
  /** The `better_sqlite3.node` to hand the app in TODEVICE_SQLITE_ELECTRON_BINDING. */
  binding: string;
  /** `env`: the user's own choice; `cache`: found in the cache; `prebuilt`/`compiled`: built on this start. */
  source: 'env' | 'cache' | 'prebuilt' | 'compiled';
}

/** The cache entry's folder name: everything the binary must match to load and to fit the JavaScript. */
export function cacheEntryName(electron: ElectronIdentity, sqliteVersion: string): string {
  return `electron-${electron.version}-abi${electron.abi}-${electron.platform}-${electron.arch}-better-sqlite3-${sqliteVersion}`;
}

export function cacheEntryBinding(cacheRoot: string, electron: ElectronIdentity, sqliteVersion: string): string {
  return path.join(cacheRoot, cacheEntryName(electron, sqliteVersion), BINDING_FILE);
}

/** The build's full output, kept beside the entries (not inside one, so a failed build leaves no entry folder). */
export function buildLogFile(cacheRoot: string, electron: ElectronIdentity, sqliteVersion: string): string {
  return path.join(cacheRoot, `${cacheEntryName(electron, sqliteVersion)}.build.log`);
}

/** prebuild-install's arguments: better-sqlite3's published binary for this Electron, unpacked into build/Release. */
export function prebuildInstallArgs(electron: ElectronIdentity): string[] {
  return ['--runtime=electron', `--target=${electron.version}`, `--arch=${electron.arch}`, `--platform=${electron.platform}`, '--verbose'];
}

/** node-gyp's arguments: a release build against Electron's headers, on every core. */
export function nodeGypArgs(electron: ElectronIdentity): string[] {
  return [
    'rebuild',
    '--release',
    '--runtime=electron',
    `--target=${electron.version}`,
    `--arch=${electron.arch}`,
    `--dist-url=${ELECTRON_HEADERS_URL}`,
    '--jobs=max',
  ];
}

/**
 * Where node-gyp may be, best first: the one npm names for its scripts (`npm start` sets npm_config_node_gyp),
 * then the one inside npm next to this Node (Unix layout, then Windows layout).
 */
export function nodeGypCandidates(env: Readonly<Record<string, string | undefined>>, nodePath: string): string[] {
  const nodeDir = path.dirname(nodePath);
  const inNpm = ['npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'];
  return [
    ...(env.npm_config_node_gyp ? [env.npm_config_node_gyp] : []),
    path.join(nodeDir, '..', 'lib', 'node_modules', ...inNpm),
    path.join(nodeDir, 'node_modules', ...inNpm),
  ];
}

/** Run as Node inside Electron: prints what a native module must match. */
const IDENTIFY_SCRIPT =
  'process.stdout.write(JSON.stringify({ version: process.versions.electron, abi: process.versions.modules, ' +
  'platform: process.platform, arch: process.arch }))';

/** Run as Node inside Electron: loads better-sqlite3's JavaScript with the binary to try, and runs one query. */
const PROBE_SCRIPT = [
  'try {',
  '  const Database = require(process.env.TODEVICE_PROBE_SQLITE_PACKAGE);',
  "  const db = new Database(':memory:', { nativeBinding: process.env.TODEVICE_PROBE_BINDING });",
  "  db.prepare('select 1').get();",
  '  db.close();',
  "  process.stdout.write('loaded');",
  '} catch (error) {',
  "  process.stderr.write(String(error && error.message).split('\\n')[0]);",
  '  process.exitCode = 1;',
  '}',
].join('\n');

/**
 * Returns the better-sqlite3 binary for this Electron, building it when the cache has none that loads, or one
 * line that says what went wrong and what to do.
 */
export async function ensureSqliteForElectron(
  runtime: SqliteBuildRuntime,
  options: SqliteForElectronOptions,
): Promise<Result<SqliteForElectron, string>> {
  // A binary the user chose wins; the Electron main process still checks that it loads.
  const chosen = runtime.env[SQLITE_ELECTRON_BINDING_ENV];
  if (chosen) return ok({ binding: chosen, source: 'env' });
  const identity = await identifyElectron(runtime, options.electronBinary);
  if (!identity.ok) return identity;
  const electron = identity.value;
  const sqliteVersion = readSqliteVersion(runtime.fs, options.sqlitePackageDir);
  if (!sqliteVersion.ok) return sqliteVersion;
  const binding = cacheEntryBinding(options.cacheRoot, electron, sqliteVersion.value);
  if (runtime.fs.exists(binding)) {
    const loads = await probeBinding(runtime, options, binding);
    if (loads.ok) return ok({ binding, source: 'cache' });
    runtime.log(`the cached better-sqlite3 for Electron ${electron.version} does not load (${loads.error}); building it again`);
    try {
      runtime.fs.remove(path.dirname(binding));
    } catch (error) {
      return err(fileProblem(error, `cannot remove the broken cache entry ${path.dirname(binding)}`));
    }
  }
  return buildIntoCache(runtime, options, electron, sqliteVersion.value);
}

async function identifyElectron(runtime: SqliteBuildRuntime, electronBinary: string): Promise<Result<ElectronIdentity, string>> {
  const outcome = await runtime.run(electronBinary, ['-e', IDENTIFY_SCRIPT], {
    env: { ...runtime.env, ELECTRON_RUN_AS_NODE: '1' },
    timeoutMs: IDENTIFY_TIMEOUT_MS,
  });
  const problem = `the Electron binary ${electronBinary} did not say which version it is when run as Node`;
  if (outcome.exitCode !== 0) return err(`${problem} (${describeOutcome(outcome)})`);
  let answer: unknown;
  try {
    // The last line, in case the binary prints something of its own first.
    answer = JSON.parse(lastLine(outcome.stdout) ?? '');
  } catch {
    return err(`${problem} (it printed ${JSON.stringify(outcome.stdout.slice(0, 200))})`);
  }
  const fields = answer as Partial<Record<keyof ElectronIdentity, unknown>>;
  const { version, abi, platform, arch } = fields;
  if (typeof version !== 'string' || typeof abi !== 'string' || typeof platform !== 'string' || typeof arch !== 'string') {
    return err(`${problem} (it answered ${JSON.stringify(answer)}, which is not Electron)`);
  }
  return ok({ version, abi, platform, arch });
}

function readSqliteVersion(fs: BuildFs, sqlitePackageDir: string): Result<string, string> {
  const file = path.join(sqlitePackageDir, 'package.json');
  try {
    const version = (JSON.parse(fs.readText(file)) as { version?: unknown }).version;
    if (typeof version === 'string' && version !== '') return ok(version);
    return err(`${file} names no version; reinstall with "npm ci"`);
  } catch (error) {
    return err(`cannot read ${file} (${error instanceof Error ? error.message : String(error)}); reinstall with "npm ci"`);
  }
}

/** Loads better-sqlite3 with `binding` inside Electron (run as Node) and runs one query. */
async function probeBinding(runtime: SqliteBuildRuntime, options: SqliteForElectronOptions, binding: string): Promise<Result<void, string>> {
  const outcome = await runtime.run(options.electronBinary, ['-e', PROBE_SCRIPT], {
    env: {
      ...runtime.env,
      ELECTRON_RUN_AS_NODE: '1',
      TODEVICE_PROBE_SQLITE_PACKAGE: options.sqlitePackageDir,
      TODEVICE_PROBE_BINDING: binding,
    },
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  if (outcome.exitCode === 0 && lastLine(outcome.stdout) === 'loaded') return ok(undefined);
  return err(lastLine(outcome.stderr) ?? describeOutcome(outcome));
}

type Built = { file: string; how: 'prebuilt' | 'compiled' };

async function buildIntoCache(
  runtime: SqliteBuildRuntime,
  options: SqliteForElectronOptions,
  electron: ElectronIdentity,
  sqliteVersion: string,
): Promise<Result<SqliteForElectron, string>> {
  const { fs } = runtime;
  const binding = cacheEntryBinding(options.cacheRoot, electron, sqliteVersion);
  const logFile = buildLogFile(options.cacheRoot, electron, sqliteVersion);
  runtime.log(`building better-sqlite3 ${sqliteVersion} for Electron ${electron.version} (first start only, about 1-3 min)…`);
  const startedMs = runtime.nowMs();
  const transcript: string[] = [];
  let work: string | undefined;
  try {
    fs.makeDir(options.cacheRoot);
    work = fs.makeTempDir(options.tempRoot, 'todevice-sqlite-electron-');
    const packageCopy = path.join(work, 'better-sqlite3');
    for (const part of PACKAGE_PARTS) {
      const from = path.join(options.sqlitePackageDir, part);
      if (fs.exists(from)) fs.copy(from, path.join(packageCopy, part));
    }
    const built = await buildInCopy(runtime, options, electron, packageCopy, transcript);
    fs.writeText(logFile, transcript.join('\n'));
    if (!built.ok) return err(buildFailure(electron, `${built.error} (log: ${logFile})`));
    // Staged next to its final name so the rename stays on one file system and is atomic.
    fs.makeDir(path.dirname(binding));
    const staged = path.join(path.dirname(binding), `.${BINDING_FILE}.${path.basename(work)}.tmp`);
    fs.copy(built.value.file, staged);
    fs.rename(staged, binding);
    const seconds = Math.round((runtime.nowMs() - startedMs) / 1000);
    runtime.log(`better-sqlite3 for Electron ${electron.version} is ready (${built.value.how} in ${seconds} s), cached at ${binding}`);
    return ok({ binding, source: built.value.how });
  } catch (error) {
    // A file operation failed (a full disk, a cache folder that is not writable); no log could be relied on.
    return err(buildFailure(electron, fileProblem(error, 'a file operation failed')));
  } finally {
    if (work !== undefined) removeQuietly(fs, work);
  }
}

/** The prebuilt binary when there is one that loads, else a compile; the first result that loads wins. */
async function buildInCopy(
  runtime: SqliteBuildRuntime,
  options: SqliteForElectronOptions,
  electron: ElectronIdentity,
  packageCopy: string,
  transcript: string[],
): Promise<Result<Built, string>> {
  const prebuilt = await fetchPrebuilt(runtime, options, electron, packageCopy, transcript);
  if (prebuilt.ok) {
    const loads = await probeBinding(runtime, options, prebuilt.value);
    if (loads.ok) return ok({ file: prebuilt.value, how: 'prebuilt' });
    runtime.log(`  the prebuilt binary does not load (${loads.error}); compiling from source with node-gyp…`);
  } else {
    runtime.log(`  no prebuilt binary (${prebuilt.error}); compiling from source with node-gyp…`);
  }
  const compiled = await compileFromSource(runtime, electron, packageCopy, transcript);
  if (!compiled.ok) return compiled;
  const loads = await probeBinding(runtime, options, compiled.value);
  if (!loads.ok) return err(`the compiled binary does not load in Electron ${electron.version} (${loads.error})`);
  return ok({ file: compiled.value, how: 'compiled' });
}

async function fetchPrebuilt(
  runtime: SqliteBuildRuntime,
  options: SqliteForElectronOptions,
  electron: ElectronIdentity,
  packageCopy: string,
  transcript: string[],
): Promise<Result<string, string>> {
  const bin = runtime.resolveFrom(options.sqlitePackageDir, 'prebuild-install/bin.js');
  if (bin === undefined) return err('prebuild-install is not installed');
  const args = [bin, ...prebuildInstallArgs(electron)];
  // npm_package_* describe todevice when run by `npm start`; prebuild-install would take them for better-sqlite3's.
  const env = Object.fromEntries(Object.entries(runtime.env).filter(([name]) => !name.startsWith('npm_package_')));
  const outcome = await runtime.run(runtime.nodePath, args, { cwd: packageCopy, env, timeoutMs: PREBUILT_TIMEOUT_MS });
  transcript.push(describeRun(runtime.nodePath, args, packageCopy, outcome));
  if (outcome.exitCode !== 0) return err(lastMatch(outcome.stderr, /prebuild-install warn install (.+)/) ?? describeOutcome(outcome));
  const file = path.join(packageCopy, BUILT_BINDING);
  if (!runtime.fs.exists(file)) return err(`prebuild-install wrote no ${BUILT_BINDING}`);
  return ok(file);
}

async function compileFromSource(
  runtime: SqliteBuildRuntime,
  electron: ElectronIdentity,
  packageCopy: string,
  transcript: string[],
): Promise<Result<string, string>> {
  const nodeGyp = nodeGypCandidates(runtime.env, runtime.nodePath).find((candidate) => runtime.fs.exists(candidate));
  if (nodeGyp === undefined) return err('node-gyp was not found (it comes with npm; start with "npm start", which names it)');
  // Whatever a failed prebuilt attempt unpacked must not be mistaken for the compile's output.
  runtime.fs.remove(path.join(packageCopy, 'build'));
  const args = [nodeGyp, ...nodeGypArgs(electron)];
  const outcome = await runtime.run(runtime.nodePath, args, { cwd: packageCopy, env: { ...runtime.env }, timeoutMs: COMPILE_TIMEOUT_MS });
  transcript.push(describeRun(runtime.nodePath, args, packageCopy, outcome));
  if (outcome.exitCode !== 0) {
    // node-gyp's own words when its download of the headers failed; the most likely failure, so named plainly.
    if (outcome.stderr.includes('gyp WARN install got an error')) {
      return err(`node-gyp could not download Electron's headers from ${ELECTRON_HEADERS_URL}`);
    }
    return err(`node-gyp ${describeOutcome(outcome)}`);
  }
  const file = path.join(packageCopy, BUILT_BINDING);
  if (!runtime.fs.exists(file)) return err(`node-gyp wrote no ${BUILT_BINDING}`);
  return ok(file);
}

function buildFailure(electron: ElectronIdentity, reason: string): string {
  return (
    `could not build better-sqlite3 for Electron ${electron.version}: ${reason}. ` +
    `The first start needs a network connection (electronjs.org, for Electron's headers) and a C++ toolchain ` +
    `(Python 3, make, a C++ compiler); fix that and run "npm start" again, or run "todevice start --web" to use ` +
    `the dashboard in your browser.`
  );
}

/** An operating-system error (with a `code`) as words; anything else is a programmer error and is thrown on. */
function fileProblem(error: unknown, what: string): string {
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') return `${what}: ${error.message}`;
  throw error;
}

function removeQuietly(fs: BuildFs, target: string): void {
  try {
    fs.remove(target);
  } catch {
    // A temporary folder left behind in the system's temp folder is litter, not a cache entry.
  }
}

function describeOutcome(outcome: RunOutcome): string {
  if (outcome.failure !== undefined) return outcome.failure;
  return `exited with code ${outcome.exitCode ?? 'none'}`;
}

function describeRun(command: string, args: string[], cwd: string, outcome: RunOutcome): string {
  return [
    `$ (cd ${cwd} && ${[command, ...args].join(' ')})`,
    outcome.stdout,
    outcome.stderr,
    `-> ${describeOutcome(outcome)}`,
    '',
  ].join('\n');
}

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.at(-1);
}

function lastMatch(text: string, pattern: RegExp): string | undefined {
  let found: string | undefined;
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (match?.[1] !== undefined) found = match[1].trim();
  }
  return found;
}
