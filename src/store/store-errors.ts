/**
 * Why a store could not be opened.
 *
 * Runtime: node. `openStore` and `openStoreReadOnly` throw `StoreOpenError` (opening is a startup step; there is
 * nothing sensible to continue with) and the error carries a `reason` value that callers can switch on. Its
 * message is one line that says what the file is and what to do. In every case below the file on disk was left
 * byte-for-byte as it was found.
 */

export type StoreOpenFailure =
  /** Inspection only: there is no store at this path yet. */
  | { kind: 'missing'; path: string }
  /** A 0-byte file: todevice never leaves one (it creates stores under a temporary name), so someone else did. */
  | { kind: 'empty'; path: string }
  /** The file exists but is not a todevice database (another SQLite database, or not SQLite at all). */
  | { kind: 'not-todevice'; path: string; detail: string }
  /** A todevice database SQLite cannot read: truncated, or damaged some other way. */
  | { kind: 'corrupt'; path: string; detail: string }
  /** The database was written by a newer todevice; this code must not guess at a schema it does not know. */
  | { kind: 'newer-schema'; path: string; foundVersion: number; supportedVersion: number }
  /** Inspection only: an older schema is reported, never upgraded, by a command that promises not to write. */
  | { kind: 'older-schema'; path: string; foundVersion: number; supportedVersion: number };

export class StoreOpenError extends Error {
  readonly reason: StoreOpenFailure;

  constructor(reason: StoreOpenFailure) {
    super(describe(reason));
    this.name = 'StoreOpenError';
    this.reason = reason;
  }
}

const UNTOUCHED = 'The file was not modified.';

function describe(reason: StoreOpenFailure): string {
  switch (reason.kind) {
    case 'missing':
      return `no todevice store at ${reason.path}: start the main process (todevice headless or todevice start) on that data directory first`;
    case 'empty':
      return `${reason.path} is an empty file, not a todevice store: move it away (a new store is created in its place). ${UNTOUCHED}`;
    case 'not-todevice':
      return `${reason.path}: not a todevice database (${reason.detail}); use another --data directory. ${UNTOUCHED}`;
    case 'corrupt':
      return (
        `${reason.path}: the todevice database is damaged (${reason.detail}); move it away to start over, or restore ` +
        `a copy. ${UNTOUCHED}`
      );
    case 'newer-schema':
      return (
        `${reason.path}: database schema version ${reason.foundVersion} is newer than this todevice supports ` +
        `(${reason.supportedVersion}); upgrade todevice or use another --data directory. ${UNTOUCHED}`
      );
    case 'older-schema':
      return (
        `${reason.path}: database schema version ${reason.foundVersion} is older than this todevice reads ` +
        `(${reason.supportedVersion}); start the main process on it once (it upgrades the store), then look again. ` +
        UNTOUCHED
      );
  }
}
