/**
 * The CI-sized campaign: `runRace` over several seeds for explicit-cas and explicit-lease (the two run side by
 * side, one per core), on real processes, until at least 1,000 SIGKILLs have actually landed. Every run must
 * show 0 lost, 0 duplicated, 0 reordered, no checker violation, and a converging liveness phase.
 *
 * Reproduce a failing seed with the command the assertion message prints (`npx todevice race ...`). The longer
 * campaign is `npx todevice race --strategy explicit-lease --long`.
 *
 * It also prints the latency distribution per strategy over all its seeds and the verdict of explicit-lease's
 * speed targets (src/harness/campaign-latency.ts). Those are printed, not asserted: the suite runs on loaded
 * machines, where a timed assertion would fail while every message was delivered.
 */
import { describe, expect, it } from 'vitest';
import { campaignLatency, campaignLatencyTable, latencyVerdictLines } from '../../src/harness/campaign-latency';
import { DEFAULT_FAULTS, type RaceOptions } from '../../src/harness/race-options';
import type { RaceReport } from '../../src/harness/report-types';
import { runRace } from '../../src/harness/run-race';
import type { Strategy } from '../../src/shared/strategies';

const killsPerStrategy = 500;
// A run lands about 45 to 75 kills, fewer on a slower machine; seeds go on until each strategy has its share. The
// cap only stops a campaign that lands almost none from running for ever.
const maxSeedsPerStrategy = 14;
const campaignOptions: Partial<RaceOptions> = {
  messages: 60,
  senders: 2,
  kills: 160,
  durationS: 8,
  faults: { ...DEFAULT_FAULTS, killAtPoint: 0.3 },
};

interface CampaignShape {
  firstSeed?: number;
  maxSeeds?: number;
  killsWanted?: number;
  compat?: 'synapse';
}

/** Every safe run kept every invariant and converged. */
function expectSafe(reports: readonly RaceReport[]): number {
  const runs = reports.flatMap((report) => report.strategies.map((run) => ({ run, reproduce: report.reproduce })));
  for (const { run, reproduce } of runs) {
    expect(run.violations, `${run.strategy} violated an invariant; reproduce with: ${reproduce}`).toEqual([]);
    expect(run.totals, reproduce).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(run.totals.sent, reproduce).toBeGreaterThan(0);
    expect(run.liveness.converged, reproduce).toBe(true);
    // The supervisor told the schedule floor of main's deaths: some message had to wait for a main process to return.
    const mainKills = (run.faults['kill-main-random'] ?? 0) + (run.faults['kill-main-point'] ?? 0);
    if (mainKills >= 5) expect(run.scheduleFloor?.forced.maxMs ?? 0, `forced part of the latency; ${reproduce}`).toBeGreaterThan(50);
  }
  return runs.reduce((sum, { run }) => sum + run.kills, 0);
}

/** The campaign's latency per strategy over all seeds, and explicit-lease's speed targets, on stderr. */
function printLatency(title: string, reports: readonly RaceReport[]): void {
  const latency = campaignLatency(reports);
  const lines = [`${title}: latency over all seeds, send to handled by main:`, campaignLatencyTable(latency), ...latencyVerdictLines(latency)];
  process.stderr.write(`${lines.join('\n')}\n`);
}

/** Seeds 1000, 1001, … for one strategy until `killsPerStrategy` kills landed (bounded by the seed count). */
async function campaignFor(
  strategy: Strategy,
  { firstSeed = 1000, maxSeeds = maxSeedsPerStrategy, killsWanted = killsPerStrategy, compat }: CampaignShape = {},
): Promise<RaceReport[]> {
  const reports: RaceReport[] = [];
  let kills = 0;
  for (let i = 0; i < maxSeeds && kills < killsWanted; i += 1) {
    const report = await runRace({ ...campaignOptions, strategy, seed: firstSeed + i, ...(compat === undefined ? {} : { compat }) });
    reports.push(report);
    kills += report.strategies.reduce((sum, run) => sum + run.kills, 0);
  }
  return reports;
}

describe('race campaign', () => {
  it('campaign: explicit-cas and explicit-lease survive at least 1,000 kills across seeds with 0 lost, 0 duplicated, 0 reordered', async () => {
    const began = Date.now();
    const reports = (await Promise.all([campaignFor('explicit-cas'), campaignFor('explicit-lease')])).flat();
    const runs = reports.flatMap((report) => report.strategies.map((run) => ({ run, reproduce: report.reproduce })));
    const kills = runs.reduce((sum, { run }) => sum + run.kills, 0);
    const summary = runs.map(({ run }) => `${run.strategy}: ${run.kills} kills, ${run.totals.sent} sent`).join('; ');
    process.stderr.write(`campaign: ${reports.length} runs, ${kills} kills in ${((Date.now() - began) / 1000).toFixed(0)} s (${summary})\n`);
    printLatency('campaign', reports);
    expectSafe(reports);
    expect(kills).toBeGreaterThanOrEqual(1000);
  }, 600_000);

  it("campaign against Synapse's to-device behaviour (--compat synapse): explicit-cas and explicit-lease lose, duplicate and reorder nothing", async () => {
    const began = Date.now();
    const shape: CampaignShape = { firstSeed: 2000, maxSeeds: 2, killsWanted: 150, compat: 'synapse' };
    const reports = (await Promise.all([campaignFor('explicit-cas', shape), campaignFor('explicit-lease', shape)])).flat();
    const kills = expectSafe(reports);
    process.stderr.write(`campaign --compat synapse: ${reports.length} runs, ${kills} kills in ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
    printLatency('campaign --compat synapse', reports);
    expect(kills).toBeGreaterThanOrEqual(150);
  }, 300_000);
});
