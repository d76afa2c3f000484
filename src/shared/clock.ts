/**
 * Injected time. Logic never calls `Date.now()` itself: the engine, the lease and the store take a `Clock`, so
 * tests and the simulator drive time by hand and one seed reproduces a run.
 *
 * Runtime: common.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch (or since any fixed origin, for a fake clock). */
  nowMs(): number;
}

/** The real wall clock; the only place that reads `Date.now()`. */
export const systemClock: Clock = { nowMs: () => Date.now() };
