/**
 * Default locations of todevice's data files, following the XDG base directory convention.
 *
 * Runtime: node.
 */
import os from 'node:os';
import path from 'node:path';

/** `$XDG_DATA_HOME/todevice`, or `~/.local/share/todevice` when the variable is unset. */
export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'todevice');
}

/** Where `todevice start` (and `npm start`) keeps the app's store and homeserver database by default. */
export function defaultAppDataDir(): string {
  return path.join(defaultDataDir(), 'app');
}
