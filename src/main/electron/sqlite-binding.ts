/**
 * Makes sure better-sqlite3 can load inside Electron before anything opens the store.
 *
 * Runtime: electron-main. Electron's ABI differs from Node's, so the better-sqlite3 build `npm ci` makes for the
 * tests (DESIGN.md §7) does not load here. An Electron-ABI build is taken from `TODEVICE_SQLITE_ELECTRON_BINDING`
 * (a `better_sqlite3.node` path, passed to better-sqlite3's `nativeBinding` option), else the installed build is
 * tried as is (it works when someone ran @electron/rebuild). The variable stays set, so notifier utility
 * processes inherit it; the store opens with it (`nativeBinding`) whenever it runs under Electron.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Result } from '../../shared/result';

export const SQLITE_BINDING_ENV = 'TODEVICE_SQLITE_ELECTRON_BINDING';

/** Opens an in-memory database with the chosen binding; returns the binding path used, or one line of why not. */
export function checkSqliteForElectron(env: NodeJS.ProcessEnv = process.env): Result<string | undefined, string> {
  const nativeBinding = env[SQLITE_BINDING_ENV] || undefined;
  if (nativeBinding !== undefined && !fs.existsSync(nativeBinding)) {
    return { ok: false, error: `${SQLITE_BINDING_ENV}=${nativeBinding} does not exist` };
  }
  try {
    new Database(':memory:', nativeBinding ? { nativeBinding } : {}).close();
    return { ok: true, value: nativeBinding };
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    return {
      ok: false,
      error:
        `better-sqlite3 has no build for Electron ${process.versions.electron} (ABI ${process.versions.modules}): ` +
        `run "npx @electron/rebuild -f -w better-sqlite3" or set ${SQLITE_BINDING_ENV} to an Electron build (${reason})`,
    };
  }
}
