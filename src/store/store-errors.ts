/**
 * Why a store could not be opened.
 *
 * Runtime: node. `openStore` throws `StoreOpenError` (opening is a startup step; there is nothing sensible to
 * continue with) and the error carries a `reason` value that callers can switch on. In every case below the file
 * on disk was left byte-for-byte as it was found.
 */

export type StoreOpenFailure =
  /** The database was written by a newer todevice; this code must not guess at a schema it does not know. */
  | { kind: 'newer-schema'; path: string; foundVersion: number; supportedVersion: number }
  /** The file exists but is not a todevice database (another SQLite database, or not SQLite at all). */
  | { kind: 'not-todevice'; path: string; detail: string };

export class StoreOpenError extends Error {
  readonly reason: StoreOpenFailure;

  constructor(reason: StoreOpenFailure) {
    super(describe(reason));
    this.name = 'StoreOpenError';
    this.reason = reason;
  }
}

function describe(reason: StoreOpenFailure): string {
  switch (reason.kind) {
    case 'newer-schema':
      return (
        `${reason.path}: database schema version ${reason.foundVersion} is newer than this todevice supports ` +
        `(${reason.supportedVersion}); upgrade todevice or use another --data directory. The file was not modified.`
      );
    case 'not-todevice':
      return `${reason.path}: not a todevice database (${reason.detail}). The file was not modified.`;
  }
}
