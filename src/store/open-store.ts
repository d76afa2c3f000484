/**
 * Opens the todevice client database shared by the main and the notifier process: read-write for the processes
 * that sync and consume (`openStore`), read-only for inspection (`openStoreReadOnly`, `readStoreReadOnly`).
 *
 * Runtime: node (better-sqlite3). Guarantees:
 * - A new store never appears half-made. It is created under a temporary name (mode 0600 from the first byte,
 *   because it holds the account's access token; SQLite gives `-wal` and `-shm` the same mode), migrated there,
 *   made durable, and only then linked into place. A crash at any point leaves either no store or a complete
 *   one, never the 0-byte or unmigrated file that other programs' leftovers look like.
 * - A file that is not a todevice database (empty, not SQLite at all, or an SQLite database without todevice's
 *   `application_id`), a damaged one, or one with a newer schema is refused with `StoreOpenError`, whose message
 *   is one line, and the file stays byte-for-byte as it was: the first judgement is made from its header bytes
 *   alone (src/sqlite/sqlite-file.ts), and nothing is written before the file was recognised as ours.
 * - Read-only opening creates nothing, migrates nothing and changes no journal mode; an older schema is reported,
 *   not upgraded.
 * - WAL mode (readers never block the writer), a busy timeout of at least 5 s (two writer processes, F16), and
 *   `synchronous = FULL` by default so a committed batch survives power loss (F18); `NORMAL` is available to
 *   measure the difference.
 * - Statements are prepared once per store and cached by their SQL text (`store.statement(sql)`), and so is the
 *   immediate-transaction wrapper (`store.immediate(work)`).
 * - A new file gets `auto_vacuum = INCREMENTAL` before its first table, so maintenance can give freed space back
 *   (src/store/auto-vacuum.ts converts older stores). `journal_size_limit` truncates the WAL file back to
 *   `WAL_SIZE_LIMIT_BYTES` whenever it restarts: without it the file keeps the size of its largest burst (a long
 *   reader holding back checkpoints lets it grow to tens of megabytes) for the life of the store.
 */
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { SQLITE_ELECTRON_BINDING_ENV } from '../shared/electron-sqlite';
import { migrate, readUserVersion } from './migrate';
import { LATEST_SCHEMA_VERSION } from './migrations/registry';
import { TODEVICE_APPLICATION_ID } from './migrations/0001-initial';
import { classifySqliteError } from './sqlite-errors';
import { StoreOpenError } from './store-errors';
import { createSqliteFileAtomically, inspectSqliteFile } from '../sqlite/sqlite-file';

export interface OpenStoreOptions {
  /** `FULL` (default) survives power loss after a commit returns; `NORMAL` may lose the last commits (F18). */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. Default 5000, minimum 5000. */
  busyTimeoutMs?: number;
  /**
   * Create the store when there is no file yet. Default true. Processes that only join an existing store (a
   * notifier, the app's sync process) pass false, and get `StoreOpenError` `missing` instead of a new store.
   */
  create?: boolean;
  /**
   * SQLite's page cache for this connection, in KiB (`cache_size = -N`). Default: the one better-sqlite3 builds
   * SQLite with (16,000 KiB; SQLite's own is 2,000). A short-lived process that reads each page once or twice (a
   * notifier) keeps its memory down with less.
   */
  cacheSizeKib?: number;
}

export interface ClientStore {
  readonly path: string;
  readonly db: SqliteDatabase;
  /** Returns the prepared statement for `sql`, preparing it on first use only. */
  statement(sql: string): Statement;
  /**
   * Runs `work` in a `BEGIN IMMEDIATE` transaction (a savepoint when one is open), as
   * `db.transaction(work).immediate()` does, with the wrapper built once per store instead of on every call
   * (better-sqlite3 builds four functions per `db.transaction`, which the commit of every batch paid).
   */
  immediate<T>(work: () => T): T;
  close(): void;
}

const MIN_BUSY_TIMEOUT_MS = 5000;
/** What the WAL file is cut back to when it restarts; twice what SQLite's automatic checkpoint lets it reach. */
export const WAL_SIZE_LIMIT_BYTES = 8 * 1024 * 1024;

export function openStore(path: string, options: OpenStoreOptions = {}): ClientStore {
  const busyTimeoutMs = Math.max(MIN_BUSY_TIMEOUT_MS, options.busyTimeoutMs ?? MIN_BUSY_TIMEOUT_MS);
  const inMemory = path === ':memory:';
  if (!inMemory) admitFile(path, { create: options.create ?? true, readOnly: false });
  const db = new Database(path, { timeout: busyTimeoutMs, fileMustExist: !inMemory, ...electronNativeBinding() });
  try {
    const fresh = refuseForeignOrNewer(db, path, { allowFresh: inMemory, refuseOlder: false });
    // Only possible before the first table exists; a new file gets it where it is built (admitFile).
    if (fresh) db.pragma('auto_vacuum = INCREMENTAL');
    // journal_mode is a header write, so it comes only after the file was recognised as ours.
    db.pragma('journal_mode = WAL');
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (options.cacheSizeKib !== undefined) {
      if (!Number.isInteger(options.cacheSizeKib) || options.cacheSizeKib < 1) throw new Error(`cacheSizeKib must be a positive integer, got ${options.cacheSizeKib}`);
      db.pragma(`cache_size = -${options.cacheSizeKib}`);
    }
    migrate(db);
  } catch (error) {
    db.close();
    throw asOpenError(error, path);
  }
  return makeStore(path, db);
}

/**
 * Opens an existing store for reading only: no file is created, nothing is migrated, no pragma is written.
 * Writes through it fail with SQLITE_READONLY. For commands that promise to look without touching.
 */
export function openStoreReadOnly(path: string): ClientStore {
  admitFile(path, { create: false, readOnly: true });
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: MIN_BUSY_TIMEOUT_MS, ...electronNativeBinding() });
  try {
    refuseForeignOrNewer(db, path, { allowFresh: false, refuseOlder: true });
  } catch (error) {
    db.close();
    throw asOpenError(error, path);
  }
  return makeStore(path, db);
}

/**
 * Opens the store read-only, runs `read` and closes it. A store found damaged while reading (SQLite sees the
 * damage only when it reaches the broken page) is reported as `StoreOpenError` `corrupt`, like one found damaged
 * at opening.
 */
export function readStoreReadOnly<T>(path: string, read: (store: ClientStore) => T): T {
  const store = openStoreReadOnly(path);
  try {
    return read(store);
  } catch (error) {
    throw asOpenError(error, path);
  } finally {
    store.close();
  }
}

function makeStore(path: string, db: SqliteDatabase): ClientStore {
  const statements = new Map<string, Statement>();
  const runImmediate = db.transaction((work: () => unknown) => work()).immediate;
  return {
    path,
    db,
    statement(sql: string): Statement {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    immediate<T>(work: () => T): T {
      return runImmediate(work) as T;
    },
    close(): void {
      statements.clear();
      if (db.open) db.close();
    },
  };
}

/**
 * Inside Electron (main or utility process) better-sqlite3 needs a build for Electron's ABI; the Node build that
 * tests use cannot load there. `todevice start` points `TODEVICE_SQLITE_ELECTRON_BINDING` at such a build, from
 * its cache (see src/cli/electron-sqlite.ts); under plain Node the installed build is used as is.
 */
function electronNativeBinding(): { nativeBinding?: string } {
  const binding = process.env[SQLITE_ELECTRON_BINDING_ENV];
  return process.versions.electron !== undefined && binding ? { nativeBinding: binding } : {};
}

/** Decides from the file's header bytes alone whether SQLite may open it, creating a missing store when asked. */
function admitFile(path: string, mode: { create: boolean; readOnly: boolean }): void {
  const file = inspectSqliteFile(path, TODEVICE_APPLICATION_ID);
  switch (file.kind) {
    case 'ours':
    case 'unknown':
      return;
    case 'missing':
      if (!mode.create) throw new StoreOpenError({ kind: 'missing', path });
      createSqliteFileAtomically(
        path,
        (db) => {
          // Settable only before the first table exists.
          db.pragma('auto_vacuum = INCREMENTAL');
          migrate(db);
        },
        { databaseOptions: electronNativeBinding() },
      );
      return;
    case 'empty':
      throw new StoreOpenError({ kind: 'empty', path });
    case 'not-sqlite':
      throw new StoreOpenError({ kind: 'not-todevice', path, detail: 'the file is not an SQLite database' });
    case 'foreign':
      throw new StoreOpenError({
        kind: 'not-todevice',
        path,
        detail: `an SQLite database with application_id ${file.applicationId} and user_version ${file.userVersion}`,
      });
  }
}

/**
 * SQLite's verdict, which sees the WAL: whose database this is and which schema it has. Returns whether the
 * database is fresh (no schema yet), which only an in-memory one may be.
 */
function refuseForeignOrNewer(db: SqliteDatabase, path: string, rules: { allowFresh: boolean; refuseOlder: boolean }): boolean {
  const applicationId = db.pragma('application_id', { simple: true });
  const userVersion = readUserVersion(db);
  if (applicationId === TODEVICE_APPLICATION_ID) {
    if (userVersion > LATEST_SCHEMA_VERSION) {
      throw new StoreOpenError({ kind: 'newer-schema', path, foundVersion: userVersion, supportedVersion: LATEST_SCHEMA_VERSION });
    }
    if (rules.refuseOlder && userVersion < LATEST_SCHEMA_VERSION) {
      throw new StoreOpenError({ kind: 'older-schema', path, foundVersion: userVersion, supportedVersion: LATEST_SCHEMA_VERSION });
    }
    return false;
  }
  const objectCount = db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number };
  if (rules.allowFresh && applicationId === 0 && userVersion === 0 && objectCount.n === 0) return true;
  throw new StoreOpenError({
    kind: 'not-todevice',
    path,
    detail: `an SQLite database with application_id ${String(applicationId)}, user_version ${userVersion}, ${objectCount.n} schema objects`,
  });
}

/** A damaged database (SQLITE_CORRUPT, SQLITE_NOTADB) becomes a `corrupt` StoreOpenError; other errors pass as they are. */
function asOpenError(error: unknown, path: string): unknown {
  if (error instanceof StoreOpenError) return error;
  const classified = classifySqliteError(error);
  if (classified?.kind === 'db-corrupt') return new StoreOpenError({ kind: 'corrupt', path, detail: classified.message });
  return error;
}
