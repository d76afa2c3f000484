/**
 * `todevice reset`: empties an app data directory (the one `todevice start` uses unless `--data` names
 * another), so the next `npm start` begins with no figures from earlier runs. `todevice start --reset` does the
 * same right before it starts.
 *
 * Runtime: node. Deletes only the files todevice made there (the store and the embedded homeserver's database
 * with their SQLite companions) and refuses, with one line and exit code 2, while an app runs on the directory
 * (src/main/host/data-dir-reset.ts). Prints what it removed.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { resetDataDir } from '../main/host/data-dir-reset';
import { runCommand, UsageError } from './cli-errors';
import { defaultAppDataDir } from './data-paths';

export function registerResetCommand(program: Command): void {
  program
    .command('reset')
    .description('delete the app data directory\'s store and homeserver database, so the next start begins empty')
    .option('--data <dir>', 'data directory to empty', defaultAppDataDir())
    .addHelpText(
      'after',
      '\nOnly todevice\'s own files are deleted (client.db, homeserver.db and their -wal/-shm/-journal files);\n' +
        'anything else in the directory is kept. Refused while an app runs on the directory.\n' +
        '\nExamples:\n  todevice reset\n  todevice reset --data ./demo\n  npm start -- --reset      (reset, then start)',
    )
    .action((options: { data: string }) => runCommand(async () => reset(options.data)));
}

function reset(dataDir: string): void {
  const dir = path.resolve(dataDir);
  const result = emptyDataDir(dir);
  process.stdout.write(result.length === 0 ? `${dir}: nothing to delete\n` : `${dir}: deleted ${result.join(', ')}\n`);
}

/** Empties `dir` for `reset` and `start --reset`; a directory in use or a failed delete is the user's to fix. */
export function emptyDataDir(dir: string): string[] {
  const result = resetDataDir(dir);
  if (!result.ok) throw new UsageError(result.error.message);
  return result.value.removed;
}
