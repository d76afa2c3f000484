/**
 * The pickle key: 32 random bytes that encrypt every Olm pickle before it reaches the shared store.
 *
 * Runtime: node / electron-utility. Where the key is kept is injected (`PickleKeySource`): the Electron app keeps
 * it sealed through `safeStorage` (sealed-pickle-key.ts) and hands it to its processes (pickle-key-handoff.ts);
 * everywhere else `filePickleKeySource` keeps it in a `pickle-key` file beside the store. Guarantees of the file
 * source:
 * - A new key is written to a private temporary file (O_EXCL, mode 0600), flushed, and then hard-linked to its
 *   name, which never replaces an existing file: of two processes starting at once, one creates the key and the
 *   other reads it, and a crash leaves either no key file or a whole one, never a truncated one.
 * - An existing file whose mode lets anyone but its owner read it, that is not a regular file, or whose content is
 *   not exactly one base64 key of 32 bytes, is refused with a one-line error and left as it is (it may be the only
 *   copy of the key to the device's Olm identity).
 * - `PickleKey` never shows its bytes: `String()`, JSON and `util.inspect` print `<redacted>`. `forOlm()` hands
 *   out a fresh copy each time because libolm zeroes the key buffer it is given after every pickle and unpickle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';

export const PICKLE_KEY_BYTES = 32;
export const PICKLE_KEY_FILE = 'pickle-key';
/** Where the desktop app keeps the key sealed by the OS secret store (sealed-pickle-key.ts). */
export const SEALED_PICKLE_KEY_FILE = 'pickle-key.sealed';

/**
 * Random bytes from Web Crypto (`globalThis.crypto`, a CSPRNG as `node:crypto`'s are), which Node loads when it
 * is first used: a static import of `node:crypto` here would load it and its streams into every process that
 * reads a pickle key, before its first line runs (the main sync process's first consume pass needs neither).
 */
function randomBytes(length: number): Buffer {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(length)));
}

export class PickleKey {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== PICKLE_KEY_BYTES) throw new Error(`a pickle key has ${PICKLE_KEY_BYTES} bytes, got ${bytes.length}`);
    this.#bytes = Uint8Array.from(bytes);
  }

  static generate(): PickleKey {
    return new PickleKey(randomBytes(PICKLE_KEY_BYTES));
  }

  /** A copy for one libolm call (libolm zeroes the buffer it is given). */
  forOlm(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }

  /** A copy as a Buffer, for node:crypto (see secret-box.ts). */
  toBuffer(): Buffer {
    return Buffer.from(this.#bytes);
  }

  toString(): string {
    return '<redacted>';
  }

  toJSON(): string {
    return '<redacted>';
  }

  [inspect.custom](): string {
    return 'PickleKey <redacted>';
  }
}

export type PickleKeyError =
  | { kind: 'pickle-key-mode'; path: string; mode: number }
  | { kind: 'pickle-key-sealed'; path: string }
  | { kind: 'pickle-key-malformed'; path: string; detail: string }
  | { kind: 'pickle-key-io'; path: string; message: string };

/** Where a device's pickle key is kept. `load` creates it on first use. */
export interface PickleKeySource {
  load(): Promise<Result<PickleKey, PickleKeyError>>;
}

/** One line for a person, naming the file and what to do. Never contains the key. */
export function describePickleKeyError(error: PickleKeyError): string {
  switch (error.kind) {
    case 'pickle-key-mode':
      return `pickle key ${error.path} has mode 0${(error.mode & 0o777).toString(8)}; it must be readable by its owner only (chmod 600 ${error.path})`;
    case 'pickle-key-malformed':
      return `pickle key ${error.path} is not a todevice pickle key (${error.detail}); it was left untouched`;
    case 'pickle-key-io':
      return `pickle key ${error.path} cannot be read or created: ${error.message}`;
    case 'pickle-key-sealed':
      return `the pickle key of this data directory is sealed by the desktop app's OS secret store (${error.path}); open the directory with \`todevice start\` (the app), which can unseal it`;
  }
}

/**
 * The key in `<dataDir>/pickle-key`, created on first use. A directory whose key the desktop app sealed
 * (`pickle-key.sealed`, and no plain file) is refused: a new key would not open the Olm state there.
 */
export function filePickleKeySource(dataDir: string): PickleKeySource {
  const file = path.join(dataDir, PICKLE_KEY_FILE);
  const sealed = path.join(dataDir, SEALED_PICKLE_KEY_FILE);
  return {
    load: () => Promise.resolve(!fs.existsSync(file) && fs.existsSync(sealed) ? err({ kind: 'pickle-key-sealed', path: sealed }) : loadOrCreateKeyFile(file)),
  };
}

/** A key held in memory (tests, or a key handed over by the process that holds the real source). */
export function fixedPickleKeySource(key: PickleKey): PickleKeySource {
  return { load: () => Promise.resolve(ok(key)) };
}

export function loadOrCreateKeyFile(file: string): Result<PickleKey, PickleKeyError> {
  try {
    if (!fs.existsSync(file)) createKeyFile(file);
    return readKeyFile(file);
  } catch (error) {
    return err({ kind: 'pickle-key-io', path: file, message: (error as Error).message });
  }
}

function readKeyFile(file: string): Result<PickleKey, PickleKeyError> {
  const stat = fs.lstatSync(file);
  if (!stat.isFile()) return err({ kind: 'pickle-key-malformed', path: file, detail: 'not a regular file' });
  if ((stat.mode & 0o077) !== 0) return err({ kind: 'pickle-key-mode', path: file, mode: stat.mode });
  if (stat.size > 256) return err({ kind: 'pickle-key-malformed', path: file, detail: `${stat.size} bytes` });
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return err({ kind: 'pickle-key-malformed', path: file, detail: 'not one base64 key of 32 bytes' });
  return ok(new PickleKey(Buffer.from(text, 'base64')));
}

function createKeyFile(file: string): void {
  const key = randomBytes(PICKLE_KEY_BYTES);
  try {
    createPrivateFileOnce(file, Buffer.from(`${key.toString('base64')}\n`));
  } finally {
    key.fill(0);
  }
}

/**
 * Writes `bytes` to `file` unless it exists, whole or not at all: a private temporary file (O_EXCL, mode 0600),
 * flushed, hard-linked to its name (which never replaces an existing file), the directory flushed. When another
 * process created the file first, theirs stays and ours was never used. The buffer is zeroed afterwards.
 */
export function createPrivateFileOnce(file: string, bytes: Buffer): void {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
    bytes.fill(0);
  }
  try {
    fs.linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  syncDirectory(path.dirname(file));
}

/** Flushes a directory, so a file created or removed in it survives a power cut. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
