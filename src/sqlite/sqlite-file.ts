/**
 * SQLite files that belong to todevice, told apart from every other file before SQLite may touch them, and
 * created so that a half-made one is never seen.
 *
 * Runtime: node. Shared by the client store (src/store) and the homeserver (src/homeserver), which keep their own
 * schemas and `application_id`s; it imports nothing of the project.
 *
 * Why judge a file before opening it: opening a file with SQLite can change it or its surroundings. A read-write
 * connection may roll back a hot journal or switch the journal mode, and even a read-only connection creates
 * `-wal` and `-shm` files beside a database in WAL mode. So a file that is not clearly ours is judged from its
 * 100-byte SQLite header alone (https://www.sqlite.org/fileformat.html, "The Database Header"), and only a file
 * that is, or may be, ours is handed to SQLite.
 *
 * One subtlety: in WAL mode the header on disk may be older than the database. A database that was created and
 * killed before its first checkpoint may have `application_id` 0 in the file while its WAL already holds the page
 * that sets it. So `application_id` 0 with a non-empty `-wal` beside it is `unknown`: SQLite must read the WAL to
 * tell.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';

export type SqliteFileKind =
  | { kind: 'missing' }
  | { kind: 'empty' }
  | { kind: 'not-sqlite' }
  /** An SQLite database whose header names another application, or none, with no WAL that could change that. */
  | { kind: 'foreign'; applicationId: number; userVersion: number }
  | { kind: 'ours' }
  /** `application_id` 0 in the file but frames in its WAL: only SQLite can tell. */
  | { kind: 'unknown' };

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;
const USER_VERSION_OFFSET = 60;
const APPLICATION_ID_OFFSET = 68;
const WAL_HEADER_BYTES = 32;

export function inspectSqliteFile(file: string, applicationId: number): SqliteFileKind {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  const header = Buffer.alloc(HEADER_BYTES);
  let bytesRead: number;
  try {
    bytesRead = fs.readSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (bytesRead === 0) return { kind: 'empty' };
  if (bytesRead < HEADER_BYTES || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) return { kind: 'not-sqlite' };
  const foundApplicationId = header.readInt32BE(APPLICATION_ID_OFFSET);
  if (foundApplicationId === applicationId) return { kind: 'ours' };
  if (foundApplicationId === 0 && walHasFrames(file)) return { kind: 'unknown' };
  return { kind: 'foreign', applicationId: foundApplicationId, userVersion: header.readInt32BE(USER_VERSION_OFFSET) };
}

function walHasFrames(file: string): boolean {
  try {
    return fs.statSync(`${file}-wal`).size > WAL_HEADER_BYTES;
  } catch {
    return false;
  }
}

export interface CreateOptions {
  /** better-sqlite3 options for the connection that builds the file (for example an Electron `nativeBinding`). */
  databaseOptions?: Database.Options;
}

/**
 * Creates a complete database at `file` without ever showing a partial one there. `initialise` builds it under a
 * temporary name in the same directory (mode 0600 from the first byte, in rollback-journal mode so it is one
 * self-contained file); the file is synced and hard-linked into place, which fails instead of replacing a
 * database another process created meanwhile (that one is then kept). Temporaries that a killed creator left
 * behind are removed. A crash at any point leaves either no database or a complete one, never the 0-byte or
 * unmigrated file that other programs' leftovers look like.
 */
export function createSqliteFileAtomically(file: string, initialise: (db: SqliteDatabase) => void, options: CreateOptions = {}): void {
  removeAbandonedTemporaries(file);
  // Web Crypto, not node:crypto: Node loads it only when first used, so a process that opens a store at once
  // (the main sync process's first consume pass) does not load node:crypto and its streams before its first line.
  const temporary = `${file}${CREATING_INFIX}${process.pid}-${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(4))).toString('hex')}`;
  fs.closeSync(fs.openSync(temporary, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
  try {
    const db = new Database(temporary, { ...options.databaseOptions, fileMustExist: true });
    try {
      initialise(db);
    } finally {
      db.close();
    }
    syncPath(temporary);
    try {
      fs.linkSync(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    syncPath(path.dirname(file));
  } finally {
    fs.rmSync(temporary, { force: true });
    fs.rmSync(`${temporary}-journal`, { force: true });
  }
}

const CREATING_INFIX = '.creating-';

function removeAbandonedTemporaries(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}${CREATING_INFIX}`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !processExists(pid)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function syncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
