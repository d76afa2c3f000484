/**
 * Makes sure better-sqlite3 can load inside Electron before anything opens the store: the last line of defence
 * behind `todevice start`, which finds or builds the Electron build before it spawns the app.
 *
 * Runtime: electron-main. Electron's ABI differs from Node's, so the better-sqlite3 build `npm ci` makes for the
 * tests (DESIGN.md §7) does not load here. The Electron build is taken from `TODEVICE_SQLITE_ELECTRON_BINDING`
 * (a `better_sqlite3.node` path, passed to better-sqlite3's `nativeBinding` option), which `todevice start` sets
 * to its cached build (src/cli/electron-sqlite.ts); without it the installed build is tried as is. The variable
 * stays set, so utility processes inherit it, and the store opens with it whenever it runs under Electron.
 * The check reaches this far only when the app was launched some other way (`electron .`), or a binary the user
 * chose does not fit; its one line says how to get a build that does.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { SQLITE_ELECTRON_BINDING_ENV } from '../../shared/electron-sqlite';
import type { Result } from '../../shared/result';

/** Opens an in-memory database with the chosen binding; returns the binding path used, or one line of why not. */
export function checkSqliteForElectron(
  env: NodeJS.ProcessEnv = process.env,
  versions: NodeJS.ProcessVersions = process.versions,
): Result<string | undefined, string> {
  const nativeBinding = env[SQLITE_ELECTRON_BINDING_ENV] || undefined;
  const electron = `Electron ${versions.electron ?? '(not running in Electron)'} (ABI ${versions.modules})`;
  const getOne = `start the app with "npm start" (todevice start), which builds one on the first start and caches it`;
  if (nativeBinding !== undefined && !fs.existsSync(nativeBinding)) {
    return { ok: false, error: `${SQLITE_ELECTRON_BINDING_ENV}=${nativeBinding} does not exist: point it at a better_sqlite3.node built for ${electron}, or unset it and ${getOne}` };
  }
  try {
    new Database(':memory:', nativeBinding ? { nativeBinding } : {}).close();
    return { ok: true, value: nativeBinding };
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    const message =
      nativeBinding === undefined
        ? `better-sqlite3 in node_modules (the build for Node) does not load in ${electron}: ${getOne}, or set ${SQLITE_ELECTRON_BINDING_ENV} to a build for it (${reason})`
        : `${SQLITE_ELECTRON_BINDING_ENV}=${nativeBinding} does not load in ${electron}: point it at a build for this Electron, or unset it and ${getOne} (${reason})`;
    return { ok: false, error: message };
  }
}
