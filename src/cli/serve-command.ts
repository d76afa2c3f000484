/**
 * `todevice serve`: runs the reference homeserver until SIGINT or SIGTERM.
 *
 * Runtime: node. The first line on stdout is one JSON object (`url`, `admin_token`, `server_name`, `db`) so that
 * scripts and tests can start it with `--port 0` and read where it listens; everything else goes to stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { CompatMode } from '../homeserver/context';
import type { RunningHomeserver } from '../homeserver/homeserver';
import { parsePort, runCommand, UsageError } from './cli-errors';
import { defaultDataDir } from './data-paths';
import { waitForStopSignal } from './stop-signal';

interface ServeOptions {
  host: string;
  port: number;
  db?: string;
  serverName: string;
  adminToken?: string;
  quiet?: boolean;
  compat: CompatMode;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the reference homeserver (MSC3885 to-device, sliding sync, classic /sync, rooms, push)')
    .option('--host <address>', 'address to listen on (loopback only)', '127.0.0.1')
    .option('--port <n>', 'port to listen on; 0 picks a free one', parsePort, 8008)
    .option('--db <file>', `SQLite file holding all server state, or ":memory:" for none (default: ${path.join(defaultDataDir(), 'homeserver.db')})`)
    .option('--server-name <name>', 'server name used in user IDs (@user:NAME)', 'localhost')
    .option('--admin-token <token>', 'token for /_todevice/admin (fault injection, inspection); random if omitted')
    .option('--quiet', 'do not log requests to stderr')
    .option(
      '--compat <server>',
      'answer the to-device extension as another server does, differences included: "synapse" (see the README)',
      parseCompat,
      'todevice' as CompatMode,
    )
    .addHelpText(
      'after',
      '\nThe first stdout line is JSON: {"url", "admin_token", "server_name", "db", "compat"}.\n' +
        'Examples:\n  todevice serve --port 0 --db :memory:\n  todevice serve --port 0 --db :memory: --compat synapse',
    )
    .action((options: ServeOptions) => runCommand(() => serve(options)));
}

async function serve(options: ServeOptions): Promise<void> {
  if (!isLoopback(options.host)) {
    throw new UsageError(`--host ${options.host} is not a loopback address; todevice only listens on loopback`);
  }
  const dbPath = options.db ?? path.join(defaultDataDir(), 'homeserver.db');
  if (dbPath !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true });
  const { startHomeserver } = await import('../homeserver/homeserver');
  let server: RunningHomeserver;
  try {
    server = await startHomeserver({
      host: options.host,
      port: options.port,
      dbPath,
      serverName: options.serverName,
      compat: options.compat,
      ...(options.adminToken ? { adminToken: options.adminToken } : {}),
      log: options.quiet ? () => {} : (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    // Start-up failures are about the user's environment (a database from elsewhere, a port in use): one line.
    process.stderr.write(`todevice serve: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  // The signal handlers go in before the first line is printed: a script that reads the line and at once sends
  // SIGTERM must get a clean shutdown, not the default action.
  const stopped = waitForStopSignal();
  process.stdout.write(
    `${JSON.stringify({ url: server.url, admin_token: server.adminToken, server_name: server.serverName, db: dbPath, compat: server.compat })}\n`,
  );
  await stopped;
  await server.close();
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parseCompat(value: string): CompatMode {
  if (value === 'synapse' || value === 'todevice') return value;
  throw new InvalidArgumentError(`expected "synapse" (or "todevice", the default), got "${value}"`);
}
