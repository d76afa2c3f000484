/**
 * `todevice start` (`npm start`): the app, with no set-up. With an Electron binary it opens the Electron app;
 * where none can be had it says so in one line and serves the same dashboard, from the same host code, at
 * `http://127.0.0.1:PORT` (browser mode). Either way it runs the embedded homeserver with demo users unless
 * `--homeserver` names another.
 *
 * Runtime: node. Browser mode prints `Dashboard: URL` on stdout once the dashboard answers, runs until SIGINT or
 * SIGTERM, then stops the bridge and the host (which stops its sync process and notifiers). Build output is
 * reused while its sources are unchanged, so a second start is quick.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { createDashboardRaceRunner } from '../harness/dashboard-race-runner';
import { startAppHost } from '../main/host/app-host';
import { nodeNotifierLauncher } from '../main/host/notifier-launcher';
import { startUiHttpBridge } from '../main/host/ui-http-bridge';
import { isStrategy, STRATEGIES, type Strategy } from '../shared/strategies';
import { StoreOpenError } from '../store/store-errors';
import type { RetentionOptions } from '../store/retention-policy';
import { parsePort, runCommand, UsageError } from './cli-errors';
import { collectRetain, RETAIN_HELP } from './retention-flags';
import { defaultDataDir } from './data-paths';
import { findElectronBinary } from './electron-binary';
import { ensureElectronBuilt } from './electron-build';
import { ensureRendererBuilt } from './renderer-build';
import { waitForStopSignal } from './stop-signal';

interface StartOptions {
  data: string;
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
    .option('--data <dir>', 'data directory (store, homeserver database)', path.join(defaultDataDir(), 'app'))
    .option('--homeserver <url>', 'use this homeserver instead of the embedded one')
    .option('--strategy <name>', `one of ${STRATEGIES.join(', ')} (default: explicit-lease)`)
    .option('--port <n>', 'browser mode: port of the dashboard on 127.0.0.1; 0 picks a free one', parsePort, 0)
    .option('--web', 'serve the dashboard in a browser even where Electron is available')
    .option('--retain <what=limit>', RETAIN_HELP, collectRetain)
    .addHelpText('after', '\nExamples:\n  npm start\n  todevice start --web --port 8080 --strategy legacy')
    .action((options: StartOptions) => runCommand(() => start(options)));
}

async function start(options: StartOptions): Promise<void> {
  if (options.strategy !== undefined && !isStrategy(options.strategy)) {
    throw new UsageError(`unknown strategy "${options.strategy}": expected one of ${STRATEGIES.join(', ')}`);
  }
  const strategy = options.strategy as Strategy | undefined;
  if (!options.web) {
    const electron = findElectronBinary();
    if (electron.ok) return runElectron(electron.value, options, strategy);
    process.stderr.write(`todevice: ${electron.error}; serving the dashboard in your browser instead\n`);
  }
  await runBrowserMode(options, strategy);
}

async function runElectron(binary: string, options: StartOptions, strategy: Strategy | undefined): Promise<void> {
  const appDir = ensureElectronBuilt();
  const child = spawn(binary, [appDir], {
    stdio: 'inherit',
    env: {
      ...process.env,
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
  const renderer = await ensureRendererBuilt();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const host = await startAppHost({
    dataDir: path.resolve(options.data),
    ...(options.homeserver ? { homeserverUrl: options.homeserver.replace(/\/+$/, '') } : {}),
    ...(strategy ? { strategy } : {}),
    ...(options.retain ? { retention: options.retain } : {}),
    launcher: nodeNotifierLauncher,
    log,
    ambientTraffic: true,
    raceRunner: createDashboardRaceRunner(),
  }).catch((error: unknown) => {
    // A data directory holding someone else's database is the user's to fix, not a crash.
    if (error instanceof StoreOpenError) throw new UsageError(error.message);
    throw error;
  });
  try {
    const bridge = await startUiHttpBridge({ backend: host.backend, staticDir: renderer.dir, host: '127.0.0.1', port: options.port, log });
    const stopped = waitForStopSignal();
    process.stdout.write(`Dashboard: ${bridge.url}\n`);
    await stopped;
    await bridge.close();
  } finally {
    await host.close();
  }
}
