/**
 * F16's fault: another process takes the store's SQLite write lock (`BEGIN IMMEDIATE`) and sits on it.
 *
 * Runtime: node. The holder must be a separate OS process: better-sqlite3 is synchronous, so a lock held by the
 * harness's own thread would also freeze the embedded homeserver and the harness itself. The helper is a tiny
 * CommonJS script run with `node -e` (no TypeScript start-up), loading better-sqlite3 by its absolute path. It
 * reports `held` over IPC once the lock is taken, holds it for `holdMs` (sometimes past the 5 s busy timeout, so
 * writers see SQLITE_BUSY), rolls back and exits. `release()` kills it early: the OS drops the lock with it.
 * `availability`, when given, is told when each lock is held and when its holder exits (main-availability.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { MainAvailability } from './main-availability';

const holderScript = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2], { timeout: 10000 });
db.exec('BEGIN IMMEDIATE');
process.send && process.send('held');
setTimeout(() => { db.exec('ROLLBACK'); db.close(); process.exit(0); }, Number(process.argv[3]));
`;

const betterSqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');

export class WriteLockHolders {
  private readonly live = new Set<ChildProcess>();

  constructor(private readonly availability?: MainAvailability) {}

  /** Starts a holder; `onHeld` runs once it has the lock. */
  hold(dbPath: string, holdMs: number, onHeld: () => void): void {
    const args = ['-e', holderScript, betterSqlitePath, dbPath, String(holdMs)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    this.live.add(child);
    child.once('message', () => {
      this.availability?.lockHeld(child);
      onHeld();
    });
    child.once('exit', () => {
      this.live.delete(child);
      this.availability?.lockReleased(child);
    });
  }

  get holding(): number {
    return this.live.size;
  }

  /** Kills every holder (the liveness phase runs without faults). */
  async release(): Promise<void> {
    const exits = [...this.live].map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }
    }));
    await Promise.all(exits);
  }
}
