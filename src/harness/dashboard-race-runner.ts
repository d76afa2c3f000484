/**
 * The race runner the dashboard uses: every strategy with one seed and the harness's default options, exactly
 * what `todevice race --strategy all --seed N` runs, reduced to the rows the dashboard shows.
 *
 * Runtime: node. Browser mode passes it to the app host (src/main/host/race-control.ts).
 */
import type { RaceRunner } from '../main/host/race-control';
import type { RaceRow } from '../shared/ui-api';
import type { RaceOptions } from './race-options';
import { runRace } from './run-race';
import type { StrategyReport } from './report-types';
import { describeProgress } from './report-text';

/** A runner with the harness defaults; `overrides` shrink a run (the e2e test uses a short one). */
export function createDashboardRaceRunner(overrides: Partial<RaceOptions> = {}): RaceRunner {
  return (seed, onProgress) => runDashboardRace(seed, overrides, onProgress);
}

async function runDashboardRace(seed: number, overrides: Partial<RaceOptions>, onProgress: (line: string) => void) {
  const report = await runRace({ ...overrides, strategy: 'all', seed }, (p) => onProgress(describeProgress(p)));
  return { rows: report.strategies.map(toRow), reproduce: report.reproduce };
}

function toRow(run: StrategyReport): RaceRow {
  return {
    strategy: run.strategy,
    ...run.totals,
    kills: run.kills,
    wastedRequests: run.wastedRequests.total,
    latencyP50Ms: run.latency.p50Ms,
    latencyP99Ms: run.latency.p99Ms,
    notificationsUnableToDecrypt: run.encryption.notifications.unableToDecrypt,
    timelineUnableToDecrypt: run.encryption.timeline.unableToDecrypt + run.encryption.timeline.notPaged,
    olmDecrypted: run.olm.decrypted,
    olmHarm: {
      failed: run.olm.failed,
      undecryptableRedeliveries: run.olm.undecryptableRedeliveries,
      wedgedSessions: run.olm.wedgedSessions,
      oneTimeKeysUploadedTwice: run.olm.oneTimeKeysUploadedTwice,
      oneTimeKeysLost: run.olm.oneTimeKeysLost,
    },
    mustBeSafe: run.mustBeSafe,
    ok: run.ok,
  };
}
