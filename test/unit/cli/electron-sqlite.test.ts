/**
 * The better-sqlite3 build for Electron, driven through a fake runtime: a fake Electron (which answers who it is
 * and "loads" a binary whose bytes say they were built for its ABI), a fake prebuild-install and a fake node-gyp
 * (which write such a binary, or fail), over real files in a temporary folder. No Electron binary can be
 * downloaded on the machine these tests were written on, so this is how the Electron path is tested here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../../src/cli/data-paths';
import {
  BINDING_FILE,
  cacheEntryBinding,
  ensureSqliteForElectron,
  nodeGypCandidates,
  type BuildFs,
  type ElectronIdentity,
  type RunOptions,
  type RunOutcome,
  type SqliteBuildRuntime,
  type SqliteForElectronOptions,
} from '../../../src/cli/electron-sqlite';

const ELECTRON: ElectronIdentity = { version: '41.7.1', abi: '145', platform: 'linux', arch: 'x64' };
const SQLITE_VERSION = '12.6.2';
/** What the fake Electron accepts as a binary built for it. */
const GOOD_BYTES = 'native module for ABI 145';
const PREBUILD_BIN = '/fake/node_modules/prebuild-install/bin.js';
const ABI_ERROR = 'The module was compiled against a different Node.js version using NODE_MODULE_VERSION 115.';

interface Call {
  command: string;
  args: string[];
  cwd: string | undefined;
  env: Record<string, string | undefined>;
}

interface FakeBehaviour {
  /** What prebuild-install does: write a binary with these bytes, or fail as when the download is impossible. */
  prebuilt: { bytes: string } | 'unavailable';
  /** What node-gyp does: write a binary with these bytes, exit 1, or exit 1 after its download of the headers failed. */
  compile: { bytes: string } | 'fails' | 'no-headers';
  /** What the fake Electron prints when asked who it is. */
  identity: string;
}

let root: string;
let options: SqliteForElectronOptions;
let nodeGyp: string;
let calls: Call[];
let lines: string[];
let fsOps: string[];
let behaviour: FakeBehaviour;
let clockMs: number;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-sqlite-electron-test-'));
  const sqlitePackageDir = path.join(root, 'project', 'node_modules', 'better-sqlite3');
  fs.mkdirSync(path.join(sqlitePackageDir, 'src'), { recursive: true });
  fs.mkdirSync(path.join(sqlitePackageDir, 'deps'), { recursive: true });
  fs.mkdirSync(path.join(sqlitePackageDir, 'build', 'Release'), { recursive: true });
  fs.writeFileSync(path.join(sqlitePackageDir, 'package.json'), JSON.stringify({ name: 'better-sqlite3', version: SQLITE_VERSION }));
  fs.writeFileSync(path.join(sqlitePackageDir, 'binding.gyp'), '{}');
  fs.writeFileSync(path.join(sqlitePackageDir, 'src', 'better_sqlite3.cpp'), '// source');
  fs.writeFileSync(path.join(sqlitePackageDir, 'deps', 'sqlite3.c'), '// sqlite');
  // The Node build the tests load: it must come through every scenario untouched.
  fs.writeFileSync(path.join(sqlitePackageDir, 'build', 'Release', BINDING_FILE), 'native module for ABI 115');
  nodeGyp = path.join(root, 'npm', 'node-gyp.js');
  fs.mkdirSync(path.dirname(nodeGyp), { recursive: true });
  fs.writeFileSync(nodeGyp, '// node-gyp');
  fs.mkdirSync(path.join(root, 'tmp'));
  options = {
    electronBinary: path.join(root, 'electron', 'electron'),
    sqlitePackageDir,
    cacheRoot: path.join(root, 'cache', 'todevice', 'sqlite-electron'),
    tempRoot: path.join(root, 'tmp'),
  };
  calls = [];
  lines = [];
  fsOps = [];
  behaviour = { prebuilt: 'unavailable', compile: { bytes: GOOD_BYTES }, identity: JSON.stringify(ELECTRON) };
  clockMs = 1_000_000;
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const entryBinding = (): string => cacheEntryBinding(options.cacheRoot, ELECTRON, SQLITE_VERSION);
const nodeBuildBytes = (): string => fs.readFileSync(path.join(options.sqlitePackageDir, 'build', 'Release', BINDING_FILE), 'utf8');
const runsOf = (kind: 'identify' | 'probe' | 'prebuild-install' | 'node-gyp'): Call[] => calls.filter((call) => kindOf(call) === kind);

function kindOf(call: Call): string {
  if (call.command === options.electronBinary) return call.env.TODEVICE_PROBE_BINDING === undefined ? 'identify' : 'probe';
  if (call.args[0] === PREBUILD_BIN) return 'prebuild-install';
  if (call.args[0] === nodeGyp) return 'node-gyp';
  return 'unknown';
}

/** Real files, with every call written down so a test can see how the cache entry came to be. */
function recordingFs(): BuildFs {
  const note = (op: string, ...paths: string[]): void => void fsOps.push([op, ...paths].join(' '));
  return {
    exists: (file) => fs.existsSync(file),
    readText: (file) => fs.readFileSync(file, 'utf8'),
    writeText: (file, text) => (note('write', file), fs.writeFileSync(file, text)),
    makeDir: (dir) => (note('mkdir', dir), void fs.mkdirSync(dir, { recursive: true })),
    makeTempDir: (parent, prefix) => fs.mkdtempSync(path.join(parent, prefix)),
    copy: (from, to) => (note('copy', from, to), fs.cpSync(from, to, { recursive: true })),
    rename: (from, to) => (note('rename', from, to), fs.renameSync(from, to)),
    remove: (target) => (note('remove', target), fs.rmSync(target, { recursive: true, force: true })),
  };
}

function writeBuilt(cwd: string | undefined, bytes: string): void {
  if (cwd === undefined) throw new Error('a build must run in the package copy');
  fs.mkdirSync(path.join(cwd, 'build', 'Release'), { recursive: true });
  fs.writeFileSync(path.join(cwd, 'build', 'Release', BINDING_FILE), bytes);
}

async function fakeRun(command: string, args: string[], runOptions: RunOptions): Promise<RunOutcome> {
  const call = { command, args, cwd: runOptions.cwd, env: runOptions.env };
  calls.push(call);
  clockMs += 1000;
  const kind = kindOf(call);
  if (kind === 'identify') return { exitCode: 0, stdout: behaviour.identity, stderr: '' };
  if (kind === 'probe') {
    const binding = call.env.TODEVICE_PROBE_BINDING ?? '';
    const loads = fs.existsSync(binding) && fs.readFileSync(binding, 'utf8') === GOOD_BYTES;
    return loads ? { exitCode: 0, stdout: 'loaded', stderr: '' } : { exitCode: 1, stdout: '', stderr: ABI_ERROR };
  }
  if (kind === 'prebuild-install') {
    if (behaviour.prebuilt === 'unavailable') {
      return { exitCode: 1, stdout: '', stderr: 'prebuild-install info begin\nprebuild-install warn install getaddrinfo ENOTFOUND github.com\n' };
    }
    writeBuilt(call.cwd, behaviour.prebuilt.bytes);
    return { exitCode: 0, stdout: '', stderr: 'prebuild-install info install Successfully installed prebuilt binary!\n' };
  }
  if (kind === 'node-gyp') {
    clockMs += 90_000;
    if (behaviour.compile === 'no-headers') {
      const stderr = 'gyp http GET https://electronjs.org/headers/v41.7.1/node-v41.7.1-headers.tar.gz\ngyp WARN install got an error, rolling back install\ngyp ERR! not ok\n';
      return { exitCode: 1, stdout: '', stderr };
    }
    if (behaviour.compile === 'fails') {
      return { exitCode: 1, stdout: '', stderr: 'gyp info it worked if it ends with ok\ngyp ERR! configure error\ngyp ERR! not ok\n' };
    }
    writeBuilt(call.cwd, behaviour.compile.bytes);
    return { exitCode: 0, stdout: '  CXX(target) Release/obj.target/better_sqlite3/src/better_sqlite3.o\n', stderr: 'gyp info ok\n' };
  }
  throw new Error(`unexpected program ${command} ${args.join(' ')}`);
}

function fakeRuntime(env: Record<string, string | undefined> = {}): SqliteBuildRuntime {
  return {
    env: { PATH: '/usr/bin', npm_config_node_gyp: nodeGyp, npm_package_name: 'todevice', ...env },
    nodePath: '/opt/node/bin/node',
    fs: recordingFs(),
    run: fakeRun,
    resolveFrom: (fromDir, request) => (fromDir === options.sqlitePackageDir && request === 'prebuild-install/bin.js' ? PREBUILD_BIN : undefined),
    log: (line) => void lines.push(line),
    nowMs: () => clockMs,
  };
}

function leftoverTempDirs(): string[] {
  return fs.readdirSync(options.tempRoot);
}

describe('the better-sqlite3 build for Electron', () => {
  it('electron sqlite: with no cached binary, the first start compiles one for this Electron and caches it in one rename', async () => {
    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result).toEqual({ ok: true, value: { binding: entryBinding(), source: 'compiled' } });
    expect(entryBinding()).toBe(
      path.join(options.cacheRoot, `electron-41.7.1-abi145-linux-x64-better-sqlite3-${SQLITE_VERSION}`, BINDING_FILE),
    );
    expect(fs.readFileSync(entryBinding(), 'utf8')).toBe(GOOD_BYTES);
    const [compile] = runsOf('node-gyp');
    expect(compile?.command).toBe('/opt/node/bin/node');
    expect(compile?.args).toEqual([
      nodeGyp,
      'rebuild',
      '--release',
      '--runtime=electron',
      '--target=41.7.1',
      '--arch=x64',
      '--dist-url=https://electronjs.org/headers',
      '--jobs=max',
    ]);
    // The build ran in a copy of the package in the temp folder, never in node_modules.
    expect(compile?.cwd?.startsWith(options.tempRoot)).toBe(true);
    expect(nodeBuildBytes()).toBe('native module for ABI 115');
    // Electron was asked who it is, as Node; the compiled binary was loaded under it before it was cached.
    expect(runsOf('identify')[0]?.env.ELECTRON_RUN_AS_NODE).toBe('1');
    expect(runsOf('probe').map((call) => call.env.TODEVICE_PROBE_BINDING)).toEqual([path.join(compile?.cwd ?? '', 'build', 'Release', BINDING_FILE)]);
    // Nothing is written at the entry's name except by the final rename.
    const touchingEntry = fsOps.filter((op) => op.split(' ').slice(1).includes(entryBinding()));
    expect(touchingEntry).toHaveLength(1);
    expect(touchingEntry[0]).toMatch(new RegExp(`^rename ${escape(path.dirname(entryBinding()))}/\\.better_sqlite3\\.node\\..*\\.tmp `));
    expect(leftoverTempDirs()).toEqual([]);
    expect(fs.readdirSync(path.dirname(entryBinding()))).toEqual([BINDING_FILE]);
  });

  it('electron sqlite: the first build prints a line when it starts, when it falls back to a compile, and when it is done', async () => {
    await ensureSqliteForElectron(fakeRuntime(), options);

    expect(lines).toEqual([
      `building better-sqlite3 ${SQLITE_VERSION} for Electron 41.7.1 (first start only, about 1-3 min)…`,
      '  no prebuilt binary (getaddrinfo ENOTFOUND github.com); compiling from source with node-gyp…',
      `better-sqlite3 for Electron 41.7.1 is ready (compiled in 93 s), cached at ${entryBinding()}`,
    ]);
  });

  it('electron sqlite: a prebuilt binary for this Electron that loads is cached without compiling', async () => {
    behaviour.prebuilt = { bytes: GOOD_BYTES };

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result).toEqual({ ok: true, value: { binding: entryBinding(), source: 'prebuilt' } });
    const [prebuilt] = runsOf('prebuild-install');
    expect(prebuilt?.args).toEqual([PREBUILD_BIN, '--runtime=electron', '--target=41.7.1', '--arch=x64', '--platform=linux', '--verbose']);
    expect(prebuilt?.cwd?.startsWith(options.tempRoot)).toBe(true);
    // npm's description of todevice (under `npm start`) is not passed on as if it described better-sqlite3.
    expect(prebuilt?.env.npm_package_name).toBeUndefined();
    expect(runsOf('node-gyp')).toEqual([]);
    expect(fs.readFileSync(entryBinding(), 'utf8')).toBe(GOOD_BYTES);
  });

  it('electron sqlite: a prebuilt binary that does not load is compiled over, not cached', async () => {
    behaviour.prebuilt = { bytes: 'native module for ABI 143' };

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result).toEqual({ ok: true, value: { binding: entryBinding(), source: 'compiled' } });
    expect(runsOf('node-gyp')).toHaveLength(1);
    expect(lines[1]).toBe(`  the prebuilt binary does not load (${ABI_ERROR}); compiling from source with node-gyp…`);
    expect(fs.readFileSync(entryBinding(), 'utf8')).toBe(GOOD_BYTES);
  });

  it('electron sqlite: a cached binary that loads is used, and nothing is built', async () => {
    await ensureSqliteForElectron(fakeRuntime(), options);
    calls = [];
    lines = [];

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result).toEqual({ ok: true, value: { binding: entryBinding(), source: 'cache' } });
    expect(calls.map(kindOf)).toEqual(['identify', 'probe']);
    expect(runsOf('probe')[0]?.env.TODEVICE_PROBE_BINDING).toBe(entryBinding());
    expect(runsOf('probe')[0]?.env.TODEVICE_PROBE_SQLITE_PACKAGE).toBe(options.sqlitePackageDir);
    expect(lines).toEqual([]);
  });

  it('electron sqlite: a cached binary that does not load is deleted and built again', async () => {
    fs.mkdirSync(path.dirname(entryBinding()), { recursive: true });
    fs.writeFileSync(entryBinding(), 'half a binary');

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result).toEqual({ ok: true, value: { binding: entryBinding(), source: 'compiled' } });
    expect(runsOf('node-gyp')).toHaveLength(1);
    expect(fs.readFileSync(entryBinding(), 'utf8')).toBe(GOOD_BYTES);
    expect(lines[0]).toBe(`the cached better-sqlite3 for Electron 41.7.1 does not load (${ABI_ERROR}); building it again`);
  });

  it('electron sqlite: a failed build is one line of what to do, with the log, and leaves no cache entry', async () => {
    behaviour.compile = 'fails';

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result.ok).toBe(false);
    const message = result.ok ? '' : result.error;
    const logFile = path.join(options.cacheRoot, `electron-41.7.1-abi145-linux-x64-better-sqlite3-${SQLITE_VERSION}.build.log`);
    expect(message).not.toContain('\n');
    expect(message).toContain('could not build better-sqlite3 for Electron 41.7.1: node-gyp exited with code 1');
    expect(message).toContain(`(log: ${logFile})`);
    expect(message).toContain('todevice start --web');
    expect(fs.readFileSync(logFile, 'utf8')).toContain('gyp ERR! configure error');
    expect(fs.existsSync(path.dirname(entryBinding()))).toBe(false);
    expect(fs.readdirSync(options.cacheRoot)).toEqual([path.basename(logFile)]);
    expect(leftoverTempDirs()).toEqual([]);
    expect(nodeBuildBytes()).toBe('native module for ABI 115');
  });

  it('electron sqlite: a compile that could not download Electron\'s headers says so', async () => {
    behaviour.compile = 'no-headers';

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result.ok ? '' : result.error).toContain("node-gyp could not download Electron's headers from https://electronjs.org/headers (log: ");
    expect(fs.existsSync(path.dirname(entryBinding()))).toBe(false);
  });

  it('electron sqlite: a compiled binary that does not load in Electron is not cached', async () => {
    behaviour.compile = { bytes: 'native module for ABI 115' };

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result.ok ? '' : result.error).toContain(`the compiled binary does not load in Electron 41.7.1 (${ABI_ERROR})`);
    expect(fs.existsSync(path.dirname(entryBinding()))).toBe(false);
  });

  it('electron sqlite: a broken cached binary whose rebuild fails is gone, so the next start does not trust it', async () => {
    fs.mkdirSync(path.dirname(entryBinding()), { recursive: true });
    fs.writeFileSync(entryBinding(), 'half a binary');
    behaviour.compile = 'fails';

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result.ok).toBe(false);
    expect(fs.existsSync(path.dirname(entryBinding()))).toBe(false);
  });

  it('electron sqlite: a cache folder that cannot be written is one line, not a crash', async () => {
    const runtime = fakeRuntime();
    const denied = Object.assign(new Error(`EACCES: permission denied, mkdir '${options.cacheRoot}'`), { code: 'EACCES' });
    runtime.fs = { ...runtime.fs, makeDir: () => { throw denied; } };

    const result = await ensureSqliteForElectron(runtime, options);

    expect(result.ok ? '' : result.error).toContain(`could not build better-sqlite3 for Electron 41.7.1: a file operation failed: EACCES: permission denied, mkdir '${options.cacheRoot}'.`);
    expect(leftoverTempDirs()).toEqual([]);
  });

  it('electron sqlite: without node-gyp the one line says where it comes from', async () => {
    const result = await ensureSqliteForElectron(fakeRuntime({ npm_config_node_gyp: undefined }), options);

    expect(result.ok ? '' : result.error).toContain('node-gyp was not found (it comes with npm');
    expect(fs.existsSync(path.dirname(entryBinding()))).toBe(false);
  });

  it('electron sqlite: a binding the user set in TODEVICE_SQLITE_ELECTRON_BINDING is used as is, and nothing runs', async () => {
    const result = await ensureSqliteForElectron(fakeRuntime({ TODEVICE_SQLITE_ELECTRON_BINDING: '/opt/mine/better_sqlite3.node' }), options);

    expect(result).toEqual({ ok: true, value: { binding: '/opt/mine/better_sqlite3.node', source: 'env' } });
    expect(calls).toEqual([]);
  });

  it('electron sqlite: a binary that does not answer as Electron is one clear line, and nothing is built', async () => {
    behaviour.identity = JSON.stringify({ abi: '115', platform: 'linux', arch: 'x64' });

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result.ok ? '' : result.error).toMatch(/did not say which version it is when run as Node \(it answered .*which is not Electron\)$/);
    expect(runsOf('node-gyp')).toEqual([]);
  });

  it('electron sqlite: the cache key follows what Electron says, so another Electron gets its own entry', async () => {
    await ensureSqliteForElectron(fakeRuntime(), options);
    const other: ElectronIdentity = { version: '42.0.0', abi: '146', platform: 'linux', arch: 'x64' };
    behaviour.identity = JSON.stringify(other);
    calls = [];

    const result = await ensureSqliteForElectron(fakeRuntime(), options);

    expect(result.ok && result.value.binding).toBe(cacheEntryBinding(options.cacheRoot, other, SQLITE_VERSION));
    expect(runsOf('node-gyp')[0]?.args).toContain('--target=42.0.0');
    expect(fs.existsSync(entryBinding())).toBe(true);
  });
});

describe('where the build looks and writes', () => {
  it('electron sqlite: the cache is under XDG_CACHE_HOME, else ~/.cache; a relative XDG_CACHE_HOME is ignored', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/var/cache/me' }, '/home/me')).toBe('/var/cache/me/todevice');
    expect(defaultCacheDir({}, '/home/me')).toBe('/home/me/.cache/todevice');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'cache' }, '/home/me')).toBe('/home/me/.cache/todevice');
  });

  it('electron sqlite: node-gyp is the one npm names first, then the one inside npm beside this Node', () => {
    expect(nodeGypCandidates({ npm_config_node_gyp: '/npm/node-gyp.js' }, '/usr/bin/node')).toEqual([
      '/npm/node-gyp.js',
      '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
      '/usr/bin/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    ]);
    expect(nodeGypCandidates({}, '/usr/bin/node')[0]).toBe('/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
