/**
 * The exception a handler throws to answer with a Matrix error body.
 *
 * Runtime: node (homeserver only).
 *
 * Handlers throw `MatrixError` for every expected failure (bad input, missing auth, unknown resource); the
 * dispatcher turns it into `{errcode, error}` with the given status. Anything else that escapes a handler is a
 * bug in the homeserver: the dispatcher answers 500 `M_UNKNOWN` and logs it, and the fuzz test proves bad input
 * never gets there.
 */
import { ErrCode } from '../shared/matrix-errors';

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    /** Extra top-level fields for the error body, such as `retry_after_ms` or the 401 UIA `flows`. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MatrixError';
  }

  body(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export function badJson(message: string): MatrixError {
  return new MatrixError(400, ErrCode.badJson, message);
}

export function invalidParam(message: string): MatrixError {
  return new MatrixError(400, ErrCode.invalidParam, message);
}

export function missingParam(message: string): MatrixError {
  return new MatrixError(400, ErrCode.missingParam, message);
}

export function notFound(message: string): MatrixError {
  return new MatrixError(404, ErrCode.notFound, message);
}

export function forbidden(message: string): MatrixError {
  return new MatrixError(403, ErrCode.forbidden, message);
}

export function tooLarge(message: string): MatrixError {
  return new MatrixError(413, ErrCode.tooLarge, message);
}
