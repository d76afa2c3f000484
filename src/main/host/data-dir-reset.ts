/**
 * Empties an app data directory so the next run starts from nothing: the client store and the embedded
 * homeserver's database, with their SQLite companions (`-wal`, `-shm`, `-journal`). Used by the dashboard's
 * reset control (src/main/host/app-host.ts), `todevice start --reset` and `todevice reset`.
 *
 * Runtime: node. Guarantees:
 * - Only the files todevice makes there are deleted, by name; anything else in the folder (a user who pointed
 *   `--data` at their home directory) is left alone, and so is the folder itself.
 * - A directory that a running app host uses is refused (`in-use`): the host writes its PID to `host.pid` while it
 *   runs, and a PID the operating system still knows counts as running. Deleting SQLite files under a live
 *   process would not stop it, it would keep writing to files nobody can open again. The host resetting its own
 *   directory passes its own PID, after closing everything it had open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CLIENT_DB_FILE, HOMESERVER_DB_FILE, HOST_PID_FILE } from '../../shared/data-layout';
import { err, ok, type Result } from '../../shared/result';

const sqliteSuffixes = ['', '-wal', '-shm', '-journal'];

/** Every file name todevice may have made in an app data directory. */
export const DATA_DIR_FILES: readonly string[] = [
  ...[CLIENT_DB_FILE, HOMESERVER_DB_FILE].flatMap((base) => sqliteSuffixes.map((suffix) => `${base}${suffix}`)),
  HOST_PID_FILE,
];

export type ResetError = { kind: 'in-use'; message: string; pid: number } | { kind: 'io'; message: string };

/** Deletes the todevice files of `dataDir`; returns the names removed (none when it held none). */
export function resetDataDir(dataDir: string, options: { ownPid?: number } = {}): Result<{ removed: string[] }, ResetError> {
  const runningPid = hostPidOf(dataDir);
  if (runningPid !== undefined && runningPid !== options.ownPid && processExists(runningPid)) {
    return err({ kind: 'in-use', pid: runningPid, message: `${dataDir} is in use by a running todevice app (pid ${runningPid}); stop it first` });
  }
  const removed: string[] = [];
  for (const name of DATA_DIR_FILES) {
    const file = path.join(dataDir, name);
    try {
      fs.rmSync(file);
      removed.push(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return err({ kind: 'io', message: `could not delete ${file}: ${(error as Error).message}` });
    }
  }
  return ok({ removed });
}

/** Records that the process `pid` runs an app host on `dataDir`; returns the function that takes it back. */
export function markDataDirInUse(dataDir: string, pid: number): () => void {
  const file = path.join(dataDir, HOST_PID_FILE);
  fs.writeFileSync(file, `${pid}\n`, { mode: 0o600 });
  return () => {
    if (hostPidOf(dataDir) === pid) fs.rmSync(file, { force: true });
  };
}

function hostPidOf(dataDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, HOST_PID_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** True unless the operating system says no such process exists (see src/engine/holder-liveness.ts). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
