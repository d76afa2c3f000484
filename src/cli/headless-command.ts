/**
 * `todevice headless`: the main process without a UI, against any homeserver (the embedded one via
 * `todevice serve`, or a real one that serves simplified sliding sync).
 *
 * Runtime: node. The first stdout line is JSON (`pid`, `user_id`, `device_id`, `push_gateway`, `data`); after it,
 * one JSON line per notifier report and per notifier exit, so scripts can follow pushes. Engine events go to
 * stderr with `--verbose`. SIGINT/SIGTERM stop it cleanly; SIGKILL at any moment loses nothing (restart it on the
 * same `--data` and it resumes from the stored token).
 */
import type { Command } from 'commander';
import { describeSyncFailure } from '../engine/describe-failure';
import { isStrategy, STRATEGIES, type Strategy } from '../engine/engine-types';
import { parseHomeserverUrl } from '../shared/homeserver-url';
import type { RetentionOptions } from '../store/retention-policy';
import { runCommand, UsageError } from './cli-errors';
import { collectRetain, RETAIN_HELP } from './retention-flags';
import { waitForStopSignal } from './stop-signal';

interface HeadlessOptions {
  homeserver: string;
  data: string;
  user: string;
  password: string;
  device?: string;
  register?: boolean;
  strategy: string;
  synchronous: string;
  retain?: RetentionOptions;
  verbose?: boolean;
  homeserverMoved?: boolean;
}

export function registerHeadlessCommand(program: Command): void {
  program
    .command('headless')
    .description('run the main sync process without a UI: sync loop, main consumer, push gateway, a notifier per push')
    .requiredOption('--homeserver <url>', 'homeserver base URL, e.g. the url printed by `todevice serve`')
    .requiredOption('--data <dir>', 'data directory holding the shared SQLite store (created after the first login; it then belongs to that account)')
    .requiredOption('--user <name>', 'localpart or full user ID')
    .requiredOption('--password <password>', 'account password')
    .option('--device <id>', 'device ID to log in as (default: the stored one, else server-assigned)')
    .option('--register', 'register the user first if it does not exist')
    .option('--homeserver-moved', "the data directory's homeserver now answers at --homeserver: accept the new address once it confirms the stored account")
    .option('--strategy <name>', `one of ${STRATEGIES.join(', ')}`, 'explicit-lease')
    .option('--synchronous <mode>', 'SQLite synchronous mode: FULL (durable on power loss) or NORMAL', 'FULL')
    .option('--retain <what=limit>', RETAIN_HELP, collectRetain)
    .option('--verbose', 'log every engine event to stderr')
    .addHelpText(
      'after',
      '\nExamples:\n  todevice headless --homeserver http://127.0.0.1:8008 --data ./phone --user alice --password secret --register\n' +
        '  todevice headless ... --retain timeline=20000/90d --retain notifier=5000/12h',
    )
    .action((options: HeadlessOptions) => runCommand(() => headless(options)));
}

async function headless(options: HeadlessOptions): Promise<void> {
  if (!isStrategy(options.strategy)) throw new UsageError(`unknown strategy "${options.strategy}": expected one of ${STRATEGIES.join(', ')}`);
  if (options.synchronous !== 'FULL' && options.synchronous !== 'NORMAL') throw new UsageError('--synchronous must be FULL or NORMAL');
  const strategy: Strategy = options.strategy;
  const homeserverUrl = parseHomeserverUrl(options.homeserver);
  if (!homeserverUrl.ok) throw new UsageError(homeserverUrl.error);
  const line = (value: unknown): boolean => process.stdout.write(`${JSON.stringify(value)}\n`);
  const [{ HostStartError, startHeadlessHost }, { prepareEntries }, { nodeNotifierLauncher }, { StoreOpenError }] = await Promise.all([
    import('../main/host/headless-host'),
    import('../main/host/process-entries'),
    import('../main/host/notifier-launcher'),
    import('../store/store-errors'),
  ]);
  const entries = await prepareEntries('host');
  if (entries.fallbackReason !== undefined) process.stderr.write(`todevice headless: notifiers start through tsx (slower): bundling them failed: ${entries.fallbackReason}\n`);
  try {
    let host;
    try {
      host = await startHeadlessHost({
        homeserverUrl: homeserverUrl.value,
        homeserverMoved: options.homeserverMoved === true,
        dataDir: options.data,
        user: options.user,
        password: options.password,
        ...(options.device === undefined ? {} : { deviceId: options.device }),
        register: options.register === true,
        strategy,
        synchronous: options.synchronous,
        ...(options.retain === undefined ? {} : { retention: options.retain }),
        launcher: nodeNotifierLauncher(entries),
        onNotifierMessage: (_run, message) => line({ notifier: message }),
        onNotifierExit: (run) => line({ notifier_exit: { pid: run.pid, code: run.exitCode, signal: run.signal } }),
        ...(options.verbose ? { onEngineEvent: (event) => process.stderr.write(`${JSON.stringify(event)}\n`) } : {}),
        log: (text) => process.stderr.write(`${text}\n`),
      });
    } catch (error) {
      if (error instanceof HostStartError || error instanceof StoreOpenError) throw new UsageError(error.message);
      throw error;
    }
    const stopped = waitForStopSignal();
    line({ pid: process.pid, user_id: host.account.userId, device_id: host.account.deviceId, push_gateway: host.push.notifyUrl, data: options.data, strategy });
    const outcome = await Promise.race([stopped.then(() => 'signal' as const), host.sync.done.then(() => 'sync-ended' as const)]);
    if (outcome === 'sync-ended') {
      const result = await host.sync.done;
      const why = result.kind === 'failed' ? describeSyncFailure(result.error, { homeserverUrl: homeserverUrl.value }) : result.kind;
      process.stderr.write(`todevice headless: the sync loop stopped: ${why}\n`);
      process.exitCode = 1;
    }
    await host.close();
  } finally {
    entries.dispose();
  }
}
