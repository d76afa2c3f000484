/**
 * How the CLI reports a user's mistake: one clear line on stderr and exit code 2, no stack trace.
 *
 * Runtime: node. Option parsers throw commander's `InvalidArgumentError`, which commander reports with the
 * option's name. Programmer errors are not routed here; they crash with their stack so they get fixed.
 */
import { InvalidArgumentError, type Command } from 'commander';

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Commander's own usage errors ("unknown option", "missing required option") become one line each, in the same
 * shape as ours: `todevice: <what>; see todevice <command> --help`. Call it after every subcommand was added.
 */
export function installUsageErrorOutput(program: Command): void {
  for (const command of [program, ...program.commands]) {
    const helpCommand = command === program ? program.name() : `${program.name()} ${command.name()}`;
    command.configureOutput({
      outputError: (text, write) => write(`todevice: ${text.trim().replace(/^error: /, '')}; see ${helpCommand} --help\n`),
    });
  }
}

/** Parses a TCP port option: an integer from 0 (any free port) to 65535. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`invalid port "${value}": expected an integer from 0 to 65535`);
  }
  return port;
}

/** Parses a positive integer option such as a count or a duration. */
export function parsePositiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`invalid ${name} "${value}": expected a positive integer`);
    return n;
  };
}

/** Runs a command body, turning a UsageError into one stderr line and exit code 2. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`todevice: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
