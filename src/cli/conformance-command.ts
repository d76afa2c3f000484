/**
 * `todevice conformance`: checks any homeserver's to-device delivery (MSC3885, MSC4538) from the outside, one
 * row per rule, with the cases the project's own conformance suite runs (src/conformance).
 *
 * Runtime: node. Exit code 0 when no rule failed, 1 when one did, 2 on a usage error or when the run could not
 * start (unreachable server, registration refused, no simplified sliding sync), which is said in one line.
 * Progress goes to stderr as each rule ends; the rows (or `--json`) go to stdout.
 */
import type { Command } from 'commander';
import {
  CASE_IDS,
  ConformanceSetupError,
  runConformance,
  type AccountSource,
  type ConformanceReport,
  type ConformanceRow,
} from '../conformance/run-conformance';
import { parseHomeserverUrl } from '../shared/homeserver-url';
import { runCommand, UsageError } from './cli-errors';

interface ConformanceCommandOptions {
  homeserver: string;
  register?: boolean;
  accounts?: string;
  json?: boolean;
  only?: string[];
}

export function registerConformanceCommand(program: Command): void {
  program
    .command('conformance')
    .description("check a homeserver's to-device delivery (MSC3885, MSC4538) from the outside, one row per rule")
    .requiredOption('--homeserver <url>', 'homeserver base URL')
    .option('--register', 'register two throwaway accounts with m.login.dummy (the default)')
    .option('--accounts <file>', 'JSON file with two existing accounts: {"accounts": [{"user_id", "password"}, {…}]}')
    .option('--json', 'print the report as JSON')
    .option('--only <rule>', `run only this rule (repeatable): ${CASE_IDS.join(', ')}`, (value: string, previous: string[] = []) => [...previous, value])
    .addHelpText(
      'after',
      '\nExit code 0 when every rule holds (deviations allowed), 1 when one fails, 2 when the run cannot start.\n' +
        'Examples:\n  todevice conformance --homeserver http://127.0.0.1:8008\n' +
        '  todevice conformance --homeserver https://matrix.example.org --accounts accounts.json --only limit-zero-refused',
    )
    .action((options: ConformanceCommandOptions) => runCommand(() => conformance(options)));
}

async function conformance(options: ConformanceCommandOptions): Promise<void> {
  const parsed = parseHomeserverUrl(options.homeserver);
  if (!parsed.ok) throw new UsageError(parsed.error);
  if (options.register && options.accounts !== undefined) throw new UsageError('--register and --accounts exclude each other');
  const accounts: AccountSource = options.accounts === undefined ? { kind: 'register' } : { kind: 'file', path: options.accounts };
  let report: ConformanceReport;
  try {
    report = await runConformance({
      homeserverUrl: parsed.value,
      accounts,
      ...(options.only ? { only: options.only } : {}),
      onCase: (row, index, total) => process.stderr.write(`conformance: ${index + 1}/${total} ${row.id}: ${row.verdict}\n`),
    });
  } catch (error) {
    if (error instanceof ConformanceSetupError) throw new UsageError(error.message);
    throw error;
  }
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  process.exitCode = report.ok ? 0 : 1;
}

const VERDICT_LABEL: Record<ConformanceRow['verdict'], string> = { pass: 'pass', fail: 'FAIL', deviation: 'deviation' };

export function formatReport(report: ConformanceReport): string {
  const idWidth = Math.max(...report.rows.map((row) => row.id.length));
  const lines = [`to-device conformance of ${report.homeserver} (accounts ${report.accounts})`, ''];
  for (const row of report.rows) {
    lines.push(`${VERDICT_LABEL[row.verdict].padEnd(9)}  ${row.id.padEnd(idWidth)}  ${row.rule} [${row.source}]`);
    lines.push(`${' '.repeat(11 + idWidth + 2)}${row.detail}`);
    if (row.verdict !== 'pass' && row.synapseDifference !== undefined) {
      lines.push(`${' '.repeat(11 + idWidth + 2)}known Synapse difference: ${row.synapseDifference}`);
    }
  }
  const { pass, fail, deviation } = report.counts;
  lines.push('', `${report.rows.length} rules: ${pass} pass, ${fail} fail, ${deviation} deviation`);
  lines.push(report.ok ? 'every MUST checked here holds' : 'a rule MSC3885 or MSC4538 requires does not hold');
  return `${lines.join('\n')}\n`;
}
