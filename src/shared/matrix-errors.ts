/**
 * Matrix error codes and the `{errcode, error}` body every failed request carries.
 *
 * Runtime: common (pure TypeScript; imported by the homeserver, the engine and the renderer).
 *
 * The codes are the Client-Server API's own; `M_UNKNOWN_POS` comes from MSC3575 (sliding sync) and
 * `M_INVALID_PARAM` is what MSC4538 requires for a `since` the server could not have issued and for a
 * non-positive `limit`.
 */

export const ErrCode = {
  forbidden: 'M_FORBIDDEN',
  unknownToken: 'M_UNKNOWN_TOKEN',
  missingToken: 'M_MISSING_TOKEN',
  badJson: 'M_BAD_JSON',
  notJson: 'M_NOT_JSON',
  notFound: 'M_NOT_FOUND',
  limitExceeded: 'M_LIMIT_EXCEEDED',
  unrecognized: 'M_UNRECOGNIZED',
  unknown: 'M_UNKNOWN',
  userInUse: 'M_USER_IN_USE',
  invalidUsername: 'M_INVALID_USERNAME',
  invalidParam: 'M_INVALID_PARAM',
  missingParam: 'M_MISSING_PARAM',
  tooLarge: 'M_TOO_LARGE',
  unknownPos: 'M_UNKNOWN_POS',
} as const;

export type ErrCode = (typeof ErrCode)[keyof typeof ErrCode];

/** The body of every non-2xx Matrix response. `retry_after_ms` accompanies 429 `M_LIMIT_EXCEEDED`. */
export interface MatrixErrorBody {
  errcode: string;
  error: string;
  retry_after_ms?: number;
}

/** Narrows an unknown parsed JSON value to a Matrix error body. */
export function isMatrixErrorBody(value: unknown): value is MatrixErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).errcode === 'string' &&
    typeof (value as Record<string, unknown>).error === 'string'
  );
}
