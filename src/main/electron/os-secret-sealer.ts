/**
 * Electron's `safeStorage` as the `OsSecretSealer` the sealed pickle key needs (src/crypto/sealed-pickle-key.ts).
 *
 * Runtime: electron-main, after the app is ready (`safeStorage` is usable only then). On Linux, Electron falls
 * back to a hard-coded password when no keyring is running (`getSelectedStorageBackend()` says `basic_text`):
 * that is no protection, so it counts as not available and the 0600 file is used instead, which says so.
 */
import type { SafeStorage } from 'electron';
import type { OsSecretSealer } from '../../crypto/sealed-pickle-key';

export function electronSealer(safeStorage: SafeStorage): OsSecretSealer {
  return {
    isAvailable: () => {
      if (!safeStorage.isEncryptionAvailable()) return false;
      if (process.platform !== 'linux') return true;
      return safeStorage.getSelectedStorageBackend() !== 'basic_text';
    },
    seal: (plaintext) => safeStorage.encryptString(plaintext),
    open: (sealed) => safeStorage.decryptString(sealed),
  };
}
