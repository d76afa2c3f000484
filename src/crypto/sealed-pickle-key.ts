/**
 * The pickle key kept sealed by the operating system's secret store, as the desktop app keeps it: Electron's
 * `safeStorage` (Keychain on macOS, DPAPI on Windows, libsecret or kwallet on Linux) seals the key, and only the
 * sealed bytes are written, to `pickle-key.sealed` beside the store. Reading the file back needs the same OS user's
 * keychain, so a copied data directory does not carry a usable key with it.
 *
 * Runtime: electron-main (the only process that may call `safeStorage`), through the `OsSecretSealer` it is given;
 * this module imports no Electron, so it is tested with a stand-in sealer. Guarantees:
 * - The sealed file is written like the plain key file (pickle-key.ts): a private temporary file (O_EXCL, 0600),
 *   flushed, hard-linked to its name (never replacing an existing one), the directory flushed. A crash leaves no
 *   sealed file or a whole one.
 * - A data directory that has a plain `pickle-key` (made by `todevice headless`, or by an app whose OS had no
 *   secret store) keeps that key: it is sealed, and the plain file is removed only after the sealed one is
 *   durable and opens to the same key. A crash in between leaves both, and the next start finishes the move.
 * - Where the OS offers no secret store (`isAvailable()` false: a Linux desktop without a keyring), the plain
 *   0600 file is used as everywhere else, and `load` says so in `note`.
 * - A sealed file that does not open (another OS user, a reset keychain) is refused with one line and left as it
 *   is; the key is never printed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import {
  createPrivateFileOnce,
  loadOrCreateKeyFile,
  PICKLE_KEY_BYTES,
  PICKLE_KEY_FILE,
  PickleKey,
  SEALED_PICKLE_KEY_FILE,
  syncDirectory,
  type PickleKeyError,
  type PickleKeySource,
} from './pickle-key';
/** A sealed 44-character key is a few hundred bytes at most on every platform. */
const MAX_SEALED_BYTES = 4096;

/** What Electron's `safeStorage` offers, reduced to what the key needs. */
export interface OsSecretSealer {
  isAvailable(): boolean;
  seal(plaintext: string): Buffer;
  /** Throws when the bytes do not open with this user's secret store. */
  open(sealed: Buffer): string;
}

export interface SealedPickleKeySource extends PickleKeySource {
  /** After `load`: where the key is kept, for the app's log (never the key). */
  note(): string;
}

export function sealedPickleKeySource(dataDir: string, sealer: OsSecretSealer): SealedPickleKeySource {
  const sealedFile = path.join(dataDir, SEALED_PICKLE_KEY_FILE);
  const plainFile = path.join(dataDir, PICKLE_KEY_FILE);
  let note = 'not loaded yet';
  const load = (): Result<PickleKey, PickleKeyError> => {
    try {
      if (fs.existsSync(sealedFile)) {
        const opened = openSealedFile(sealedFile, sealer);
        if (opened.ok && fs.existsSync(plainFile)) finishMove(plainFile, opened.value);
        note = `the pickle key is sealed by the OS secret store (${sealedFile})`;
        return opened;
      }
      if (!sealer.isAvailable()) {
        note = `the OS offers no secret store: the pickle key is kept in ${plainFile} (mode 0600)`;
        return loadOrCreateKeyFile(plainFile);
      }
      const existing = fs.existsSync(plainFile) ? loadOrCreateKeyFile(plainFile) : ok(new PickleKey(randomBytes(PICKLE_KEY_BYTES)));
      if (!existing.ok) return existing;
      createPrivateFileOnce(sealedFile, sealer.seal(existing.value.toBuffer().toString('base64')));
      // Another process may have sealed a key first: what the file holds now is the key.
      const stored = openSealedFile(sealedFile, sealer);
      if (stored.ok && fs.existsSync(plainFile)) finishMove(plainFile, stored.value);
      note = `the pickle key is sealed by the OS secret store (${sealedFile})`;
      return stored;
    } catch (error) {
      return err({ kind: 'pickle-key-io', path: sealedFile, message: (error as Error).message });
    }
  };
  return { load: () => Promise.resolve(load()), note: () => note };
}

function openSealedFile(file: string, sealer: OsSecretSealer): Result<PickleKey, PickleKeyError> {
  const stat = fs.lstatSync(file);
  if (!stat.isFile()) return err({ kind: 'pickle-key-malformed', path: file, detail: 'not a regular file' });
  if ((stat.mode & 0o077) !== 0) return err({ kind: 'pickle-key-mode', path: file, mode: stat.mode });
  if (stat.size > MAX_SEALED_BYTES) return err({ kind: 'pickle-key-malformed', path: file, detail: `${stat.size} bytes` });
  let text: string;
  try {
    text = sealer.open(fs.readFileSync(file)).trim();
  } catch {
    return err({ kind: 'pickle-key-malformed', path: file, detail: "this user's OS secret store cannot open it (another user, or a reset keychain)" });
  }
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return err({ kind: 'pickle-key-malformed', path: file, detail: 'it does not open to one base64 key of 32 bytes' });
  return ok(new PickleKey(Buffer.from(text, 'base64')));
}

/** Removes the plain key file once the sealed one holds the same key; a different plain key is left alone. */
function finishMove(plainFile: string, sealed: PickleKey): void {
  const plain = loadOrCreateKeyFile(plainFile);
  if (!plain.ok || !plain.value.toBuffer().equals(sealed.toBuffer())) return;
  fs.rmSync(plainFile);
  syncDirectory(path.dirname(plainFile));
}
