/**
 * `todevice start` (`npm start`): the app, with no set-up. With an Electron binary it opens the Electron app;
 * where none can be had it says so in one line and serves the same dashboard, from the same host code, at
 * `http://127.0.0.1:PORT` (browser mode). Either way it runs the embedded homeserver with demo users unless
 * `--homeserver` names another.
 *
 * Runtime: node. Before Electron starts, the better-sqlite3 binary for its ABI is found in todevice's cache or
 * built into it (src/cli/electron-sqlite.ts, with progress lines on stderr) and handed to the app in
 * TODEVICE_SQLITE_ELECTRON_BINDING; when that build fails, one line says what to do and the exit code is 1.
 * Browser mode prints `Dashboard: URL` on stdout once the dashboard answers (the URL carries this launch's
 * secret in its fragment, `#token=…`, without which the bridge answers no call), runs until SIGINT or SIGTERM,
 * then stops the bridge and the host (which stops its sync process and notifiers). Build output is reused while
 * its sources are unchanged, so a second start is quick.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { SQLITE_ELECTRON_BINDING_ENV } from '../shared/electron-sqlite';
import { parseHomeserverUrl } from '../shared/homeserver-url';
import { isStrategy, STRATEGIES, type Strategy } from '../shared/strategies';
import type { RetentionOptions } from '../store/retention-policy';
import { parsePort, runCommand, UsageError } from './cli-errors';
import { defaultAppDataDir } from './data-paths';
import { collectRetain, RETAIN_HELP } from './retention-flags';
import { findElectronBinary } from './electron-binary';
import { emptyDataDir } from './reset-command';
import { waitForStopSignal } from './stop-signal';

interface StartOptions {
  data: string;
  reset?: boolean;
  homeserver?: string;
  strategy?: string;
  port: number;
  web?: boolean;
  retain?: RetentionOptions;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('open the app (Electron), or serve its dashboard in a browser where Electron is not available')
    .option('--data <dir>', 'data directory (store, homeserver database); kept between runs', defaultAppDataDir())
    .option('--reset', 'empty the data directory first, so this run starts with no figures from earlier runs')
    .option('--homeserver <url>', 'use this homeserver instead of the embedded one')
    .option('--strategy <name>', `one of ${STRATEGIES.join(', ')} (default: explicit-lease)`)
    .option('--port <n>', 'browser mode: port of the dashboard on 127.0.0.1; 0 picks a free one', parsePort, 0)
    .option('--web', 'serve the dashboard in a browser even where Electron is available')
    .option('--retain <what=limit>', RETAIN_HELP, collectRetain)
    .addHelpText(
      'after',
      '\nThe data directory outlives a run: the dashboard shows this run\'s figures and, apart, what earlier runs\n' +
        'left there. Empty it with --reset, `todevice reset`, or the dashboard\'s "Reset data directory" control.\n' +
        '\nExamples (from the repository):\n  npm start\n  npm start -- --reset\n  npx todevice start --web --port 8080 --strategy legacy',
    )
    .action((options: StartOptions) => runCommand(() => start(options)));
}

async function start(options: StartOptions): Promise<void> {
  if (options.strategy !== undefined && !isStrategy(options.strategy)) {
    throw new UsageError(`unknown strategy "${options.strategy}": expected one of ${STRATEGIES.join(', ')}`);
  }
  const strategy = options.strategy as Strategy | undefined;
  if (options.reset) {
    const removed = emptyDataDir(path.resolve(options.data));
    process.stderr.write(`todevice: ${removed.length === 0 ? 'the data directory was already empty' : `reset ${path.resolve(options.data)} (deleted ${removed.join(', ')})`}\n`);
  }
  if (!options.web) {
    const electron = findElectronBinary();
    if (electron.ok) return runElectron(electron.value, options, strategy);
    process.stderr.write(`todevice: ${electron.error}; serving the dashboard in your browser instead\n`);
  }
  await runBrowserMode(options, strategy);
}

async function runElectron(binary: string, options: StartOptions, strategy: Strategy | undefined): Promise<void> {
  const log = (line: string): void => void process.stderr.write(`todevice: ${line}\n`);
  const [{ ensureSqliteForElectron }, { defaultSqliteForElectronOptions, nodeSqliteBuildRuntime }, { ensureElectronBuilt }] = await Promise.all([
    import('./electron-sqlite'),
    import('./electron-sqlite-runtime'),
    import('./electron-build'),
  ]);
  const sqlite = await ensureSqliteForElectron(nodeSqliteBuildRuntime(log), defaultSqliteForElectronOptions(binary));
  if (!sqlite.ok) {
    log(sqlite.error);
    process.exitCode = 1;
    return;
  }
  const appDir = ensureElectronBuilt(undefined, log);
  // ELECTRON_RUN_AS_NODE, if the user's shell has it, would make Electron run the app folder as a Node script.
  const { ELECTRON_RUN_AS_NODE: _runAsNode, ...env } = process.env;
  const child = spawn(binary, [appDir], {
    stdio: 'inherit',
    env: {
      ...env,
      [SQLITE_ELECTRON_BINDING_ENV]: sqlite.value.binding,
      TODEVICE_DATA_DIR: path.resolve(options.data),
      ...(options.homeserver ? { TODEVICE_HOMESERVER_URL: options.homeserver } : {}),
      ...(strategy ? { TODEVICE_STRATEGY: strategy } : {}),
      ...(options.retain ? { TODEVICE_RETENTION: JSON.stringify(options.retain) } : {}),
    },
  });
  // Electron quits cleanly on SIGTERM; forwarding the signal lets it stop its host before we exit.
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => child.once('exit', (exitCode) => resolve(exitCode ?? 1)));
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  process.exitCode = code;
}

async function runBrowserMode(options: StartOptions, strategy: Strategy | undefined): Promise<void> {
  const parsed = options.homeserver === undefined ? undefined : parseHomeserverUrl(options.homeserver);
  if (parsed !== undefined && !parsed.ok) throw new UsageError(parsed.error);
  const homeserverUrl = parsed?.value;
  const [
    { ensureRendererBuilt },
    { startAppHost },
    { prepareEntries },
    { nodeNotifierLauncher },
    { nodeSyncProcessLauncher },
    { createDashboardRaceRunner },
    { startUiHttpBridge },
    { StoreOpenError },
    { DemoSetupError },
    { HomeserverDatabaseError },
  ] = await Promise.all([
      import('./renderer-build'),
      import('../main/host/app-host'),
      import('../main/host/process-entries'),
      import('../main/host/notifier-launcher'),
      import('../main/host/sync-process-launcher'),
      import('../harness/dashboard-race-runner'),
      import('../main/host/ui-http-bridge'),
      import('../store/store-errors'),
      import('../main/host/demo-setup'),
      import('../homeserver/db'),
    ]);
  const renderer = await ensureRendererBuilt();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const entries = await prepareEntries('host');
  if (entries.fallbackReason !== undefined) log(`todevice start: the notifier and the main sync process start through tsx (slower): bundling them failed: ${entries.fallbackReason}`);
  try {
    const host = await startAppHost({
      dataDir: path.resolve(options.data),
      ...(homeserverUrl === undefined ? {} : { homeserverUrl }),
      ...(strategy ? { strategy } : {}),
      ...(options.retain ? { retention: options.retain } : {}),
      launcher: nodeNotifierLauncher(entries),
      syncLauncher: nodeSyncProcessLauncher(entries),
      log,
      ambientTraffic: true,
      raceRunner: createDashboardRaceRunner(),
    }).catch((error: unknown) => {
      // A data directory holding someone else's database, or another account's store, is the user's to fix.
      if (error instanceof StoreOpenError || error instanceof DemoSetupError || error instanceof HomeserverDatabaseError) {
        throw new UsageError(error.message);
      }
      throw error;
    });
    try {
      const bridge = await startUiHttpBridge({ backend: host.backend, staticDir: renderer.dir, host: '127.0.0.1', port: options.port, log });
      const stopped = waitForStopSignal();
      // The only place the launch's secret is shown: the URL carries it in its fragment (never sent to a server).
      process.stdout.write(`Dashboard: ${bridge.launchUrl}\n`);
      await stopped;
      await bridge.close();
    } finally {
      await host.close();
    }
  } finally {
    entries.dispose();
  }
}
