/**
 * A value-or-error result for expected failures.
 *
 * Runtime: common. Expected failures (a network error, a busy lease, a stale token) travel as values with a
 * `kind` so callers must look at them; programmer errors still throw.
 */

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
