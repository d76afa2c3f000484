/**
 * Runs race-harness runs for the dashboard, one at a time, and keeps what the snapshot shows of the latest.
 *
 * Runtime: node. The host does not import the harness (src/harness sits above it in the layers); the entry that
 * builds the host passes a `RaceRunner` built on `runRace`. Without one (the Electron app, whose bundled code
 * cannot start the harness's processes), `race:start` answers that the run needs `todevice race`.
 */
import type { RaceRow, RaceView } from '../../shared/ui-api';

export interface RaceRunnerResult {
  rows: RaceRow[];
  reproduce: string;
}

/** Runs every strategy with one seed; calls `onProgress` with a line now and then. */
export type RaceRunner = (seed: number, onProgress: (line: string) => void) => Promise<RaceRunnerResult>;

export interface RaceControl {
  start(seed: number): { ok: true } | { ok: false; kind: string; message: string };
  view(): RaceView | null;
}

export function createRaceControl(runner: RaceRunner | undefined, log: (line: string) => void): RaceControl {
  let view: RaceView | null = null;
  return {
    start(seed) {
      if (runner === undefined) return { ok: false, kind: 'unavailable', message: 'race runs start from browser mode or `todevice race`' };
      if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31) return { ok: false, kind: 'bad-argument', message: 'seed must be an integer from 0 to 2^31' };
      if (view?.running) return { ok: false, kind: 'busy', message: `a race with seed ${view.seed} is running` };
      const current: RaceView = { seed, running: true, progress: 'starting', rows: [], reproduce: null, error: null };
      view = current;
      log(`race: seed ${seed} started`);
      runner(seed, (line) => (current.progress = line)).then(
        (result) => Object.assign(current, { running: false, progress: null, rows: result.rows, reproduce: result.reproduce }),
        (error: unknown) => Object.assign(current, { running: false, progress: null, error: error instanceof Error ? error.message : String(error) }),
      );
      return { ok: true };
    },
    view: () => view && { ...view, rows: [...view.rows] },
  };
}
