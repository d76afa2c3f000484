/**
 * Classifies SQLite errors by their result code into expected-failure values.
 *
 * Runtime: node. better-sqlite3 throws `SqliteError` with a `code` such as `SQLITE_BUSY` or
 * `SQLITE_BUSY_SNAPSHOT`. A busy database is an expected condition between the main and the notifier process
 * (the busy timeout ran out, F16); it is returned as `{kind: 'db-busy'}` so the engine can back off and retry.
 * Anything else that is not an SQLite error is a programmer error and is rethrown by `classifySqliteError`'s
 * callers.
 */

export type DbError =
  | { kind: 'db-busy'; code: string; message: string }
  | { kind: 'db-full'; code: string; message: string }
  | { kind: 'db-readonly'; code: string; message: string }
  | { kind: 'db-corrupt'; code: string; message: string }
  | { kind: 'db-constraint'; code: string; message: string }
  | { kind: 'db-other'; code: string; message: string };

/** Returns the classified error, or `undefined` when `error` is not an SQLite error at all. */
export function classifySqliteError(error: unknown): DbError | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const message = error.message;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return { kind: 'db-busy', code, message };
  if (code === 'SQLITE_FULL') return { kind: 'db-full', code, message };
  if (code.startsWith('SQLITE_READONLY')) return { kind: 'db-readonly', code, message };
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return { kind: 'db-corrupt', code, message };
  if (code.startsWith('SQLITE_CONSTRAINT')) return { kind: 'db-constraint', code, message };
  return { kind: 'db-other', code, message };
}
