/**
 * Finds the Electron binary the `electron` package installed, or says in one line why there is none.
 *
 * Runtime: node. The package's `index.js` returns the binary's path, or throws when its download was skipped
 * (DESIGN.md §7: no binary can be downloaded on this machine); a path whose file is gone counts as none too.
 * Shared by `todevice start` and the Playwright `electron` project, so both decide the same way.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Result } from '../shared/result';

export function findElectronBinary(): Result<string, string> {
  let binary: unknown;
  try {
    binary = createRequire(import.meta.url)('electron');
  } catch {
    // The package throws "Electron failed to install correctly" when its download was skipped, which is the
    // expected state here, not a broken install; say what it means instead.
    return { ok: false, error: 'no Electron binary (node_modules/electron was installed without its download)' };
  }
  if (typeof binary !== 'string') return { ok: false, error: 'the electron package did not name a binary' };
  if (!fs.existsSync(binary)) return { ok: false, error: `no Electron binary at ${binary}` };
  return { ok: true, value: binary };
}
