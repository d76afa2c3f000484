/**
 * `todevice bench`: throughput, latency and handoff, each against its baseline measured in the same run
 * See src/bench/run-bench.ts for the cases and each case's module header for why its baseline is a
 * fair comparison.
 *
 * Runtime: node. Progress goes to stderr; stdout carries the table, or with `--json` one JSON document with
 * every figure, its baseline and ratio. Exit code 0 whether or not targets hold (the table says which), 1 when
 * a case could not run, 2 on a usage error. `--scaling` runs the scaling case (8) alone, `--case 2,7` the cases named; `--out DIR`
 * also writes the JSON and an HTML page with the scaling chart there (bench.json, bench.html). `--soak` runs
 * the soak instead (src/bench/soak.ts): its progress on stderr, its figures and the databases' sizes and rows
 * on stdout (or with `--json` one JSON document; with `--out DIR`, soak.json there).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { BENCH_CASES, DEFAULT_SIZES, DEFAULT_SOAK_MESSAGES, FULL_SCALING, MIN_SOAK_MESSAGES, QUICK_SCALING, QUICK_SIZES } from '../bench/bench-types';
import { parsePositiveInt, runCommand, UsageError } from './cli-errors';

interface BenchCliOptions {
  quick?: boolean;
  json?: boolean;
  soak?: boolean;
  scaling?: boolean;
  messages?: number;
  out?: string;
  case?: ReadonlySet<number>;
}

/** `--case 2,7`: the case numbers of the table's first column. */
function parseCases(value: string): ReadonlySet<number> {
  const cases = new Set<number>();
  for (const part of value.split(',')) {
    const n = Number(part.trim());
    if (!(BENCH_CASES as readonly number[]).includes(n)) throw new InvalidArgumentError(`invalid case "${part.trim()}": cases are ${BENCH_CASES.join(', ')} (the table's first column)`);
    cases.add(n);
  }
  return cases;
}

const progressSince = (startedMs: number) => (line: string) => void process.stderr.write(`bench [${((Date.now() - startedMs) / 1000).toFixed(1)} s] ${line}\n`);

/** Creates `--out DIR` before anything runs, so a bad path fails in a second, not after a long run. */
function outputDir(out: string | undefined): string | undefined {
  if (out === undefined) return undefined;
  try {
    fs.mkdirSync(out, { recursive: true });
    fs.accessSync(out, fs.constants.W_OK);
  } catch (error) {
    throw new UsageError(`--out ${out}: cannot write there (${error instanceof Error ? error.message : String(error)})`);
  }
  return out;
}

async function writeStdout(text: string): Promise<void> {
  await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
}

async function soakCommand(options: BenchCliOptions): Promise<void> {
  if (options.quick === true || options.scaling === true) throw new UsageError('--soak runs alone (no --quick, no --scaling); use --soak --messages N for a short soak');
  const messages = options.messages ?? DEFAULT_SOAK_MESSAGES;
  if (messages < MIN_SOAK_MESSAGES) throw new UsageError(`invalid messages "${messages}": the soak needs at least ${MIN_SOAK_MESSAGES}`);
  const out = outputDir(options.out);
  const [{ runSoak }, { renderSoak }] = await Promise.all([import('../bench/soak'), import('../bench/soak-text')]);
  const report = await runSoak({ messages, progress: progressSince(Date.now()) });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (out !== undefined) fs.writeFileSync(path.join(out, 'soak.json'), json);
  await writeStdout(options.json === true ? json : renderSoak(report));
}

async function benchCommand(options: BenchCliOptions): Promise<void> {
  const quick = options.quick === true;
  const out = outputDir(options.out);
  const [{ runBench }, { renderBenchHtml }, { renderTable }] = await Promise.all([
    import('../bench/run-bench'),
    import('../bench/bench-report-html'),
    import('../bench/bench-table'),
  ]);
  const report = await runBench({
    sizes: quick ? QUICK_SIZES : DEFAULT_SIZES,
    quick,
    progress: progressSince(Date.now()),
    scaling: quick ? QUICK_SCALING : FULL_SCALING,
    cases: options.scaling === true ? new Set([8]) : options.case,
  });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (out !== undefined) {
    fs.writeFileSync(path.join(out, 'bench.json'), json);
    fs.writeFileSync(path.join(out, 'bench.html'), renderBenchHtml(report));
  }
  const judged = report.figures.filter((f) => f.pass !== undefined);
  const output =
    options.json === true
      ? json
      : `${renderTable(report.figures)}\n${judged.filter((f) => f.pass === true).length} of ${judged.length} targets hold; ` +
        `${report.machine.cpus} CPUs, Node ${report.machine.node}, ${report.elapsedS.toFixed(0)} s` +
        `${quick ? ' (--quick: sizes too small to judge)' : ''}\n` +
        report.warnings.map((warning) => `warning: ${warning}\n`).join('') +
        (out === undefined ? '' : `written: ${path.join(out, 'bench.json')}, ${path.join(out, 'bench.html')}\n`);
  await writeStdout(output);
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('measure drain throughput, live latency, notifier handoff, contention, a matrix-js-sdk peer, the server, Olm and scaling, each against its baseline; or --soak')
    .option('--quick', 'tiny sizes: only checks that every case runs (CI)')
    .option('--json', 'print every figure with its baseline and ratio as JSON on stdout')
    .option('--scaling', 'only the scaling case (8: queues and an inbox of 1M messages, 10,000 devices), about 1.5 minutes')
    .option('--case <n,...>', 'only these cases, by the number in the table\'s first column (1 to 8), e.g. --case 2,7', parseCases)
    .option('--out <dir>', 'also write the JSON and an HTML page with the charts into this directory')
    .option('--soak', `instead: a soak of ${DEFAULT_SOAK_MESSAGES.toLocaleString('en-US')} messages through the main process and notifiers (store size, memory, latency)`)
    .option('--messages <n>', `with --soak: how many to-device messages (at least ${MIN_SOAK_MESSAGES.toLocaleString('en-US')})`, parsePositiveInt('messages'))
    .action((options: BenchCliOptions) =>
      runCommand(async () => {
        if (options.messages !== undefined && options.soak !== true) throw new UsageError('--messages goes with --soak');
        if (options.case !== undefined && (options.scaling === true || options.soak === true)) throw new UsageError('--case does not go with --scaling (which is --case 8) or --soak');
        if (options.scaling === true && options.quick === true) throw new UsageError('--scaling and --quick do not go together (--quick runs the scaling case too, at tiny sizes)');
        await (options.soak === true ? soakCommand(options) : benchCommand(options));
        // matrix-js-sdk arms a `localTimeoutMs` timer per request (http-api/fetch.js `timeoutSignal`) that stopping
        // its SlidingSync does not clear, which would keep this process alive for up to 40 s after the report.
        // Everything of ours is closed by now (runBench's finally), and stdout is flushed above.
        process.exit(0);
      }),
    );
}
