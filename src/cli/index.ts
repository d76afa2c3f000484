/**
 * Entry of the `todevice` command: wires the subcommands and nothing else.
 *
 * Runtime: node. Each subcommand lives in its own `*-command.ts` file and owns its options and help text; it
 * imports what its action runs (the homeserver, the host, the bench, the harness) only when the action runs, so
 * every command starts without loading the others and `--help` loads none of them. Usage
 * errors are one line on stderr and exit code 2 (cli-errors.ts); a reader that closes the pipe early
 * (`todevice inbox | head`) ends the command quietly (output.ts).
 */
import { Command, CommanderError } from 'commander';
import { registerBenchCommand } from './bench-command';
import { installUsageErrorOutput } from './cli-errors';
import { registerConformanceCommand } from './conformance-command';
import { registerHeadlessCommand } from './headless-command';
import { registerInboxCommand } from './inbox-command';
import { registerJoinCommand } from './join-command';
import { endQuietlyOnClosedPipe } from './output';
import { registerRaceCommand } from './race-command';
import { registerResetCommand } from './reset-command';
import { registerSendCommand } from './send-command';
import { registerServeCommand } from './serve-command';
import { registerStartCommand } from './start-command';
import { registerTimelineCommand } from './timeline-command';
import { packageVersion } from './version';

endQuietlyOnClosedPipe();

const program = new Command()
  .name('todevice')
  .description(
    'Matrix to-device delivery harness (MSC3885): a reference homeserver, a main sync process and a notification ' +
      'process sharing one SQLite-persisted to-device token, and tools to break them.',
  )
  .version(packageVersion(), '-V, --version', 'print the version and exit')
  .configureHelp({ showGlobalOptions: true })
  // Subcommands inherit this: commander reports a usage error itself, and we exit with the conventional 2.
  .exitOverride();

registerStartCommand(program);
registerResetCommand(program);
registerServeCommand(program);
registerHeadlessCommand(program);
registerInboxCommand(program);
registerTimelineCommand(program);
registerJoinCommand(program);
registerSendCommand(program);
registerRaceCommand(program);
registerBenchCommand(program);
registerConformanceCommand(program);
installUsageErrorOutput(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
