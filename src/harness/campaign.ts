/**
 * A campaign: the same race over many seeds, to pile up kills and interleavings that one seed cannot reach.
 *
 * Runtime: node. Seeds are `firstSeed, firstSeed + 1, …`, each a full `runRace` (its own schedule, homeserver and
 * processes), run one after the other: the machine's cores go to the processes inside a run. The campaign fails
 * as soon as any safe strategy violates an invariant, and names the seed and the command that reproduces it.
 * The Olm figures are summed per strategy over every seed (`olmByStrategy`): for explicit-cas and explicit-lease
 * every harm figure must stay 0 (any is a violation of its seed); legacy and explicit-naive show what they show.
 * Its latency figures are pooled over every seed it ran (campaign-latency.ts), with the default strategy's speed
 * targets judged per seed; those are reported, never a failure (they depend on the machine's load).
 */
import { campaignLatency, type CampaignLatency } from './campaign-latency';
import type { Strategy } from '../shared/strategies';
import type { RaceOptions } from './race-options';
import type { OlmFigures, RaceProgress, RaceReport, StrategyReport } from './report-types';
import { runRace } from './run-race';
import { zeroOlmFailures } from './olm-oracle';

export interface CampaignResult {
  seeds: number[];
  reports: RaceReport[];
  /** SIGKILLs that landed, over every seed and strategy. */
  kills: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** The Olm figures of each strategy, summed over the seeds that ran. */
  olmByStrategy: Partial<Record<Strategy, OlmFigures>>;
  ok: boolean;
  /** The failing seed's reproducing command, when one failed. */
  reproduce: string | undefined;
  /** Latency, convergence and wasted requests per strategy over all seeds, and the speed targets' verdict. */
  latency: CampaignLatency;
  elapsedMs: number;
}

export async function runCampaign(
  base: Partial<RaceOptions>,
  seedCount: number,
  onProgress: (progress: RaceProgress) => void = () => undefined,
  onSeed: (report: RaceReport) => void = () => undefined,
): Promise<CampaignResult> {
  const began = Date.now();
  const firstSeed = base.seed ?? 1;
  const seeds = Array.from({ length: seedCount }, (_, i) => firstSeed + i);
  const reports: RaceReport[] = [];
  for (const seed of seeds) {
    const report = await runRace({ ...base, seed }, onProgress);
    reports.push(report);
    onSeed(report);
    if (!report.ok) break;
  }
  const runs = reports.flatMap((report) => report.strategies);
  const sum = (pick: (run: (typeof runs)[number]) => number): number => runs.reduce((total, run) => total + pick(run), 0);
  const failed = reports.find((report) => !report.ok);
  return {
    seeds,
    reports,
    kills: sum((run) => run.kills),
    lost: sum((run) => (run.mustBeSafe ? run.totals.lost : 0)),
    duplicated: sum((run) => (run.mustBeSafe ? run.totals.duplicated : 0)),
    reordered: sum((run) => (run.mustBeSafe ? run.totals.reordered : 0)),
    olmByStrategy: sumOlmByStrategy(runs),
    ok: failed === undefined,
    reproduce: failed?.reproduce,
    latency: campaignLatency(reports),
    elapsedMs: Date.now() - began,
  };
}

/** The Olm figures of `runs`, summed per strategy (failures reason by reason). */
export function sumOlmByStrategy(runs: readonly StrategyReport[]): Partial<Record<Strategy, OlmFigures>> {
  const sums: Partial<Record<Strategy, OlmFigures>> = {};
  for (const run of runs) {
    const total = sums[run.strategy] ?? emptyOlmFigures();
    for (const [reason, n] of Object.entries(run.olm.failures) as Array<[keyof OlmFigures['failures'], number]>) total.failures[reason] += n;
    for (const [reason, n] of Object.entries(run.olm.redeliveryFailures) as Array<[keyof OlmFigures['failures'], number]>) total.redeliveryFailures[reason] += n;
    total.decrypted += run.olm.decrypted;
    total.decryptedAfterQuery += run.olm.decryptedAfterQuery;
    total.failed += run.olm.failed;
    total.undecryptableRedeliveries += run.olm.undecryptableRedeliveries;
    total.wedgedSessions += run.olm.wedgedSessions;
    total.oneTimeKeysUploadedTwice += run.olm.oneTimeKeysUploadedTwice;
    total.oneTimeKeysLost += run.olm.oneTimeKeysLost;
    total.recoveries += run.olm.recoveries;
    total.unableToDecrypt += run.olm.unableToDecrypt;
    sums[run.strategy] = total;
  }
  return sums;
}

function emptyOlmFigures(): OlmFigures {
  return {
    decrypted: 0,
    decryptedAfterQuery: 0,
    failures: zeroOlmFailures(),
    failed: 0,
    undecryptableRedeliveries: 0,
    redeliveryFailures: zeroOlmFailures(),
    wedgedSessions: 0,
    oneTimeKeysUploadedTwice: 0,
    oneTimeKeysLost: 0,
    recoveries: 0,
    unableToDecrypt: 0,
  };
}
