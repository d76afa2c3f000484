/**
 * Default locations of todevice's data and cache files, following the XDG base directory convention.
 *
 * Runtime: node. Data (stores, homeserver databases) is what a user would miss; the cache holds only what can be
 * made again (the better-sqlite3 build for Electron), so deleting it costs a rebuild and nothing else.
 */
import os from 'node:os';
import path from 'node:path';

/** `$XDG_DATA_HOME/todevice`, or `~/.local/share/todevice` when the variable is unset. */
export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'todevice');
}

/**
 * `$XDG_CACHE_HOME/todevice`, or `~/.cache/todevice` when the variable is unset, empty or relative (the XDG
 * convention says a relative value is invalid and must be ignored).
 */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env, homeDir = os.homedir()): string {
  const configured = env.XDG_CACHE_HOME;
  const base = configured && path.isAbsolute(configured) ? configured : path.join(homeDir, '.cache');
  return path.join(base, 'todevice');
}

/** Where `todevice start` (and `npm start`) keeps the app's store and homeserver database by default. */
export function defaultAppDataDir(): string {
  return path.join(defaultDataDir(), 'app');
}
