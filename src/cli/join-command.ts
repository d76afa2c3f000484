/**
 * `todevice join`: accepts an invite (or joins a public room) as the account of a data directory. The main
 * process pages every room its account has joined, so the room's messages appear in its timeline on its next
 * pass; joining stays an explicit act, never automatic.
 *
 * Runtime: node. The store is only read (read-only, for the account and its access token, which is never
 * printed); the join itself is the homeserver's. Errors are one line: a store that is not there or not healthy,
 * a room ID that is not one, a refusal from the server with its reason.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { describeClientError } from '../engine/describe-failure';
import { CLIENT_DB_FILE } from '../shared/data-layout';
import type { Account } from '../store/account';
import { runCommand, UsageError } from './cli-errors';

interface JoinOptions {
  data: string;
}

export function registerJoinCommand(program: Command): void {
  program
    .command('join')
    .description('accept an invite to a room (or join it) as the account of a data directory')
    .argument('<room>', 'room ID (!abc:server) or alias (#name:server)')
    .requiredOption('--data <dir>', 'data directory of a main process (todevice headless --data, or the app)')
    .addHelpText('after', "\nExample:\n  todevice join --data ./phone '!abc:localhost'")
    .action((room: string, options: JoinOptions) => runCommand(() => join(room, options)));
}

async function join(room: string, options: JoinOptions): Promise<void> {
  if (!/^[!#][^:]+:.+$/.test(room)) throw new UsageError(`"${room}" is not a room ID (!abc:server) or alias (#name:server)`);
  const account = await readStoredAccount(options.data);
  const { MatrixClient } = await import('../engine/matrix-client');
  const client = new MatrixClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken });
  const joined = await client.joinRoom(room);
  if (!joined.ok) {
    process.stderr.write(`todevice: cannot join ${room} as ${account.userId}: ${describeClientError(joined.error, { homeserverUrl: account.homeserverUrl })}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${account.userId} joined ${joined.value.roomId}; the main process shows its messages from its next timeline pass\n`);
}

async function readStoredAccount(dataDir: string): Promise<Account> {
  const [{ readAccount }, { readStoreReadOnly }, { StoreOpenError }] = await Promise.all([
    import('../store/account'),
    import('../store/open-store'),
    import('../store/store-errors'),
  ]);
  try {
    const account = readStoreReadOnly(path.join(dataDir, CLIENT_DB_FILE), (store) => readAccount(store));
    if (account === undefined) throw new UsageError(`${dataDir} holds no account yet: start a main process with it first`);
    return account;
  } catch (error) {
    if (error instanceof StoreOpenError) throw new UsageError(error.message);
    throw error;
  }
}
