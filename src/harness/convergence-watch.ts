/**
 * When a race run converged, from a series of checks of the converged state (nothing queued on the server, no
 * notifier running, main running and caught up with the inbox).
 *
 * Runtime: common. Guarantees:
 * - convergence is confirmed only by an unbroken stretch of passing checks that lasts at least `confirmMs`: one
 *   failing check starts the stretch again, so a state that passes once and then falls back is not converged;
 * - the moment reported is the first check of that stretch, when the run was first seen converged. The checks
 *   that only confirm it are not part of the time to converge: a run that converged at once reports about 0 ms,
 *   not the length of the confirmation window.
 */
export class ConvergenceWatch {
  private stretchStartMs: number | undefined;

  constructor(private readonly confirmMs: number) {}

  /**
   * Records one check made at `atMs`. Returns the moment convergence began once the stretch of passing checks
   * that began then has lasted `confirmMs`; until then, undefined.
   */
  record(atMs: number, passed: boolean): number | undefined {
    if (!passed) {
      this.stretchStartMs = undefined;
      return undefined;
    }
    this.stretchStartMs ??= atMs;
    return atMs - this.stretchStartMs >= this.confirmMs ? this.stretchStartMs : undefined;
  }
}
