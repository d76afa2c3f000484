/**
 * `todevice race`: the race and crash harness on real processes (DESIGN.md §5 and §6).
 *
 * Runtime: node. Prints `SEED=…` with every option and fault probability and the schedule's hash before it
 * starts, progress lines on stderr while it runs, the side-by-side table at the end, and on failure the exact
 * command that reproduces it. `--json` prints the report JSON on stdout (the SEED line then goes to stderr, so
 * stdout stays one JSON document). Exit code 0 when explicit-cas and explicit-lease kept every invariant
 * (legacy and explicit-naive losses are the expected result), 1 when a safe strategy violated one, 2 on a usage
 * error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { campaignLatency, campaignLatencyTable, latencyVerdictLines } from '../harness/campaign-latency';
import { buildSchedule, scheduleHash } from '../harness/fault-schedule';
import { DEFAULT_FAULTS, DEFAULT_RACE_OPTIONS, describeOptions, LONG_CAMPAIGN, validateRaceOptions, type FaultProbabilities, type RaceOptions } from '../harness/race-options';
import { renderReportHtml } from '../harness/report-html';
import { describeProgress, faultLines, olmCells, sideBySideTable, verdictLines } from '../harness/report-text';
import type { RaceProgress, RaceReport } from '../harness/report-types';
import { isStrategy, STRATEGIES } from '../shared/strategies';
import { parsePositiveInt, runCommand, UsageError } from './cli-errors';

interface RaceCliOptions {
  strategy: string;
  seed: number;
  messages: number;
  senders: number;
  kills: number;
  duration: number;
  pushes?: number;
  fault?: string[];
  out?: string;
  json?: boolean;
  campaign?: number;
  long?: boolean;
  compat?: string;
}

const nonNegativeInt = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`invalid ${name} "${value}": expected an integer >= 0`);
  return n;
};

export function registerRaceCommand(program: Command): void {
  program
    .command('race')
    .description('race main and notifier processes under seeded faults; compare strategies; report lost/duplicated/reordered')
    .option('--strategy <name>', `one of ${STRATEGIES.join(', ')}, or all`, 'all')
    .option('--seed <n>', 'seed of the fault and traffic schedule', nonNegativeInt('seed'), DEFAULT_RACE_OPTIONS.seed)
    .option('--messages <n>', 'to-device messages sent during the safety phase', nonNegativeInt('messages'), DEFAULT_RACE_OPTIONS.messages)
    .option('--senders <n>', 'sending devices', parsePositiveInt('senders'), DEFAULT_RACE_OPTIONS.senders)
    .option('--kills <n>', 'SIGKILLs scheduled (main and notifiers)', nonNegativeInt('kills'), DEFAULT_RACE_OPTIONS.kills)
    .option('--duration <s>', 'safety phase length in seconds', parsePositiveInt('duration'), DEFAULT_RACE_OPTIONS.durationS)
    .option('--pushes <n>', 'room messages (pushes) (default: enough for the notifier kills)', nonNegativeInt('pushes'))
    .option('--fault <name=p>', 'override a fault probability (repeatable), e.g. --fault dropResponse=0.2', (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option('--out <dir>', 'where report.json and report.html go (default ./reports/race-<seed>)')
    .option('--json', 'print the report JSON on stdout')
    .option('--campaign <n>', 'run n seeds from --seed on', parsePositiveInt('campaign'))
    .option('--compat <server>', 'the embedded homeserver answers to-device as "synapse" does (todevice serve --compat synapse)')
    .option('--long', `the longer campaign: ${LONG_CAMPAIGN.seeds} seeds, ${LONG_CAMPAIGN.kills} kills and ${LONG_CAMPAIGN.durationS} s each`)
    .addHelpText('after', '\nExamples:\n  todevice race --strategy all --seed 1\n  todevice race --strategy explicit-lease --campaign 10 --kills 100')
    .action((options: RaceCliOptions) => runCommand(() => race(options)));
}

function toRaceOptions(cli: RaceCliOptions): RaceOptions {
  if (cli.strategy !== 'all' && !isStrategy(cli.strategy)) throw new UsageError(`unknown strategy "${cli.strategy}": expected one of ${STRATEGIES.join(', ')}, all`);
  const faults: FaultProbabilities = { ...DEFAULT_FAULTS };
  for (const spec of cli.fault ?? []) {
    const [name, raw] = spec.split('=');
    if (name === undefined || !(name in faults) || raw === undefined || !Number.isFinite(Number(raw))) {
      throw new UsageError(`--fault "${spec}": expected name=number with name one of ${Object.keys(faults).join(', ')}`);
    }
    faults[name as keyof FaultProbabilities] = Number(raw);
  }
  const options: RaceOptions = {
    ...DEFAULT_RACE_OPTIONS,
    strategy: cli.strategy as RaceOptions['strategy'],
    seed: cli.seed,
    messages: cli.messages,
    senders: cli.senders,
    kills: cli.long && cli.kills === DEFAULT_RACE_OPTIONS.kills ? LONG_CAMPAIGN.kills : cli.kills,
    durationS: cli.long && cli.duration === DEFAULT_RACE_OPTIONS.durationS ? LONG_CAMPAIGN.durationS : cli.duration,
    pushes: cli.pushes ?? 0,
    faults,
    ...(cli.compat === undefined ? {} : { compat: parseRaceCompat(cli.compat) }),
  };
  try {
    validateRaceOptions(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return options;
}

async function race(cli: RaceCliOptions): Promise<void> {
  const options = toRaceOptions(cli);
  const info = (line: string): boolean => (cli.json ? process.stderr : process.stdout).write(`${line}\n`);
  info(`${describeOptions(options)} schedule=${scheduleHash(buildSchedule(options))}`);
  const seeds = cli.campaign ?? (cli.long ? LONG_CAMPAIGN.seeds : undefined);
  if (seeds !== undefined) return campaign(options, seeds, info, cli.out ?? path.join('reports', `campaign-${options.seed}`));
  const { runRace } = await import('../harness/run-race');
  const report = await runRace(options, printProgress);
  const outDir = cli.out ?? path.join('reports', `race-${options.seed}`);
  writeReports(report, outDir);
  if (cli.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    info('');
    info(sideBySideTable(report));
    info('');
    for (const line of faultLines(report)) info(line);
  }
  info(`reports: ${path.join(outDir, 'report.json')} ${path.join(outDir, 'report.html')}`);
  if (report.strategies.some((run) => run.strategy === 'explicit-lease')) for (const line of latencyVerdictLines(campaignLatency([report]))) info(line);
  for (const line of verdictLines(report)) info(line);
  process.exitCode = report.ok ? 0 : 1;
}

async function campaign(options: RaceOptions, seeds: number, info: (line: string) => void, outDir: string): Promise<void> {
  const { runCampaign } = await import('../harness/campaign');
  const result = await runCampaign(options, seeds, printProgress, (report) => {
    const cells = report.strategies.map((r) => `${r.strategy} kills=${r.kills} lost=${r.totals.lost} dup=${r.totals.duplicated} reord=${r.totals.reordered} ${olmCells(r.olm)}${r.ok ? '' : ' VIOLATION'}`);
    info(`seed ${report.seed} (${(report.elapsedMs / 1000).toFixed(1)} s): ${cells.join(' | ')}`);
  });
  info(`campaign: ${result.reports.length}/${seeds} seeds, ${result.kills} kills, safe strategies lost=${result.lost} duplicated=${result.duplicated} reordered=${result.reordered}, ${(result.elapsedMs / 1000).toFixed(1)} s`);
  for (const [strategy, olm] of Object.entries(result.olmByStrategy)) info(`campaign Olm ${strategy}: ${olmCells(olm)}`);
  info('');
  info(`latency over all ${result.reports.length} seed(s), send to handled by main:`);
  info(campaignLatencyTable(result.latency));
  for (const line of latencyVerdictLines(result.latency)) info(line);
  fs.mkdirSync(outDir, { recursive: true });
  const seedsRun = result.reports.map((report) => report.seed);
  fs.writeFileSync(path.join(outDir, 'campaign.json'), `${JSON.stringify({ seeds: seedsRun, reproduce: result.reports.map((report) => report.reproduce), latency: result.latency }, null, 2)}\n`);
  info(`campaign figures: ${path.join(outDir, 'campaign.json')}`);
  if (!result.ok) info(`FAILED. Reproduce with:\n${result.reproduce ?? ''}`);
  process.exitCode = result.ok ? 0 : 1;
}

function writeReports(report: RaceReport, outDir: string): void {
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'report.html'), renderReportHtml(report));
}

let lastProgressMs = 0;
function printProgress(progress: RaceProgress): void {
  const now = Date.now();
  if (progress.phase !== 'starting' && progress.phase !== 'done' && now - lastProgressMs < 950) return;
  lastProgressMs = now;
  process.stderr.write(`${describeProgress(progress)}\n`);
}

function parseRaceCompat(value: string): 'synapse' {
  if (value === 'synapse') return value;
  throw new UsageError(`--compat ${value}: expected "synapse"`);
}
