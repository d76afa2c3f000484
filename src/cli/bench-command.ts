/**
 * `todevice bench`: throughput, latency and handoff, each against its baseline measured in the same run
 * See src/bench/run-bench.ts for the cases and each case's module header for why its baseline is a
 * fair comparison.
 *
 * Runtime: node. Progress goes to stderr; stdout carries the table, or with `--json` one JSON document with
 * every figure, its baseline and ratio. Exit code 0 whether or not targets hold (the table says which), 1 when
 * a case could not run, 2 on a usage error. `--soak` runs the soak instead (src/bench/soak.ts): its progress on
 * stderr, its figures and the databases' sizes and rows on stdout (or with `--json` one JSON document).
 */
import type { Command } from 'commander';
import { renderTable } from '../bench/bench-table';
import { DEFAULT_SIZES, QUICK_SIZES } from '../bench/bench-types';
import { runBench } from '../bench/run-bench';
import { DEFAULT_SOAK_MESSAGES, MIN_SOAK_MESSAGES, runSoak } from '../bench/soak';
import { renderSoak } from '../bench/soak-text';
import { parsePositiveInt, runCommand, UsageError } from './cli-errors';

interface BenchCliOptions {
  quick?: boolean;
  json?: boolean;
  soak?: boolean;
  messages?: number;
}

async function soakCommand(options: BenchCliOptions): Promise<void> {
  if (options.quick === true) throw new UsageError('--soak and --quick do not go together; use --soak --messages N for a short soak');
  const messages = options.messages ?? DEFAULT_SOAK_MESSAGES;
  if (messages < MIN_SOAK_MESSAGES) throw new UsageError(`invalid messages "${messages}": the soak needs at least ${MIN_SOAK_MESSAGES}`);
  const startedMs = Date.now();
  const report = await runSoak({ messages, progress: (line) => process.stderr.write(`bench [${((Date.now() - startedMs) / 1000).toFixed(1)} s] ${line}\n`) });
  const output = options.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderSoak(report);
  await new Promise<void>((resolve) => process.stdout.write(output, () => resolve()));
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('measure drain throughput, live latency, notifier handoff, contention, a matrix-js-sdk peer and the server, each against its baseline')
    .option('--quick', 'tiny sizes: only checks that every case runs (CI)')
    .option('--json', 'print every figure with its baseline and ratio as JSON on stdout')
    .option('--soak', `instead: a soak of ${DEFAULT_SOAK_MESSAGES.toLocaleString('en-US')} messages through the main process and notifiers (store size, memory, latency)`)
    .option('--messages <n>', `with --soak: how many to-device messages (at least ${MIN_SOAK_MESSAGES.toLocaleString('en-US')})`, parsePositiveInt('messages'))
    .action((options: BenchCliOptions) =>
      runCommand(async () => {
        if (options.messages !== undefined && options.soak !== true) throw new UsageError('--messages goes with --soak');
        if (options.soak === true) {
          await soakCommand(options);
          process.exit(0);
        }
        const quick = options.quick === true;
        const startedMs = Date.now();
        const report = await runBench({
          sizes: quick ? QUICK_SIZES : DEFAULT_SIZES,
          quick,
          progress: (line) => process.stderr.write(`bench [${((Date.now() - startedMs) / 1000).toFixed(1)} s] ${line}\n`),
        });
        const judged = report.figures.filter((f) => f.pass !== undefined);
        const output =
          options.json === true
            ? `${JSON.stringify(report, null, 2)}\n`
            : `${renderTable(report.figures)}\n${judged.filter((f) => f.pass === true).length} of ${judged.length} targets hold; ` +
              `${report.machine.cpus} CPUs, Node ${report.machine.node}, ${report.elapsedS.toFixed(0)} s` +
              `${quick ? ' (--quick: sizes too small to judge)' : ''}\n` +
              report.warnings.map((warning) => `warning: ${warning}\n`).join('');
        await new Promise<void>((resolve) => process.stdout.write(output, () => resolve()));
        // matrix-js-sdk arms a `localTimeoutMs` timer per request (http-api/fetch.js `timeoutSignal`) that stopping
        // its SlidingSync does not clear, which would keep this process alive for up to 40 s after the report.
        // Everything of ours is closed by now (runBench's finally), and stdout is flushed above.
        process.exit(0);
      }),
    );
}
