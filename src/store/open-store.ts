/**
 * Opens (creating if needed) the todevice client database shared by the main and the notifier process.
 *
 * Runtime: node (better-sqlite3). Guarantees:
 * - The file is created with mode 0600 before SQLite touches it, because it holds the account's access token.
 *   SQLite gives the `-wal` and `-shm` files the same permissions as the database file.
 * - A file that is not a todevice database (not SQLite at all, or an SQLite database without todevice's
 *   `application_id`), or a todevice database with a newer schema, is refused with `StoreOpenError` before any
 *   write: we only read its header and pragmas, so the file stays byte-for-byte as it was.
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
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { migrate, readUserVersion } from './migrate';
import { LATEST_SCHEMA_VERSION } from './migrations/registry';
import { TODEVICE_APPLICATION_ID } from './migrations/0001-initial';
import { StoreOpenError } from './store-errors';

export interface OpenStoreOptions {
  /** `FULL` (default) survives power loss after a commit returns; `NORMAL` may lose the last commits (F18). */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. Default 5000, minimum 5000. */
  busyTimeoutMs?: number;
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

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const MIN_BUSY_TIMEOUT_MS = 5000;
/** What the WAL file is cut back to when it restarts; twice what SQLite's automatic checkpoint lets it reach. */
export const WAL_SIZE_LIMIT_BYTES = 8 * 1024 * 1024;

export function openStore(path: string, options: OpenStoreOptions = {}): ClientStore {
  const busyTimeoutMs = Math.max(MIN_BUSY_TIMEOUT_MS, options.busyTimeoutMs ?? MIN_BUSY_TIMEOUT_MS);
  const inMemory = path === ':memory:';
  if (!inMemory) {
    createOwnerOnlyFile(path);
    refuseNonSqliteFile(path);
  }
  const db = new Database(path, { timeout: busyTimeoutMs, fileMustExist: !inMemory, ...electronNativeBinding() });
  try {
    const fresh = refuseForeignOrNewer(db, path);
    // Only possible before the first table exists, and before the WAL switch, which creates the database.
    if (fresh) db.pragma('auto_vacuum = INCREMENTAL');
    // journal_mode is a header write, so it comes only after the file was recognised as ours or fresh.
    db.pragma('journal_mode = WAL');
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return makeStore(path, db);
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
 * tests use cannot load there. The app points `TODEVICE_SQLITE_ELECTRON_BINDING` at such a build (see
 * src/main/electron/sqlite-binding.ts); under plain Node the installed build is used as is.
 */
function electronNativeBinding(): { nativeBinding?: string } {
  const binding = process.env.TODEVICE_SQLITE_ELECTRON_BINDING;
  return process.versions.electron !== undefined && binding ? { nativeBinding: binding } : {};
}

/** Creates the file with mode 0600 if it does not exist; an existing file is left alone (mode included). */
function createOwnerOnlyFile(path: string): void {
  try {
    fs.closeSync(fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** A non-empty file that does not start with SQLite's magic header is refused without SQLite opening it. */
function refuseNonSqliteFile(path: string): void {
  const fd = fs.openSync(path, 'r');
  try {
    const header = Buffer.alloc(SQLITE_MAGIC.length);
    const bytesRead = fs.readSync(fd, header, 0, header.length, 0);
    if (bytesRead === 0) return;
    if (bytesRead < header.length || !header.equals(SQLITE_MAGIC)) {
      throw new StoreOpenError({ kind: 'not-todevice', path, detail: 'the file is not an SQLite database' });
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Returns whether the database is fresh (no schema yet); throws `StoreOpenError` for one that is not ours. */
function refuseForeignOrNewer(db: SqliteDatabase, path: string): boolean {
  const applicationId = db.pragma('application_id', { simple: true });
  const userVersion = readUserVersion(db);
  const objectCount = db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number };
  if (applicationId === TODEVICE_APPLICATION_ID) {
    if (userVersion > LATEST_SCHEMA_VERSION) {
      throw new StoreOpenError({
        kind: 'newer-schema',
        path,
        foundVersion: userVersion,
        supportedVersion: LATEST_SCHEMA_VERSION,
      });
    }
    return false;
  }
  const fresh = applicationId === 0 && userVersion === 0 && objectCount.n === 0;
  if (!fresh) {
    throw new StoreOpenError({
      kind: 'not-todevice',
      path,
      detail: `SQLite database with application_id ${String(applicationId)}, user_version ${userVersion}, ` +
        `${objectCount.n} schema objects`,
    });
  }
  return true;
}
