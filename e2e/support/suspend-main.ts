/**
 * Suspends the main sync process (the dashboard's "Suspend main" control, SIGSTOP) at a moment when it holds no
 * SQLite write lock, for tests about what a notifier does while the app is in the background.
 *
 * Runtime: Playwright (node). SIGSTOP lands wherever main happens to be. When that is inside a write transaction
 * (a consume pass, a timeline page, a lease write: a few milliseconds every 250 ms), the stopped process keeps
 * the write lock, and every other process of the device gets SQLITE_BUSY after its busy timeout: a notifier then
 * cannot even open the store, since src/store/migrate.ts begins an immediate transaction per migration also when
 * there is nothing to migrate. That is a real hazard of its own (an OS suspending an app mid-transaction), not the
 * one these tests are about, so after suspending, this helper checks the write lock is free, and when it is not,
 * resumes main and tries again. It first waits until main has published the device's Olm keys.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, type Page } from '@playwright/test';
import { CLIENT_DB_FILE } from '../../src/shared/data-layout';
import { classifySqliteError } from '../../src/store/sqlite-errors';
import { pressControl } from './dashboard';

const maxAttempts = 5;
/** Longer than any write transaction of a running process, far shorter than a stopped one would hold the lock. */
const lockProbeTimeoutMs = 1000;

export async function suspendMainOutsideWriteLock(page: Page, dataDir: string, log: (line: string) => void): Promise<void> {
  const dbPath = path.join(dataDir, CLIENT_DB_FILE);
  // Main publishes the device's Olm keys at its first start; stopped before that, no sender could share a room
  // key with the device at all, which is not what these tests are about.
  await expect(page.getByTestId('counter-olm-one-time-keys')).not.toHaveText('0', { timeout: 30_000 });
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    await pressControl(page, 'btn-suspend-main');
    if (writeLockFree(dbPath)) return;
    log(`main was suspended holding the store's write lock (attempt ${attempt}); resuming it to try again`);
    await pressControl(page, 'btn-suspend-main');
  }
  throw new Error(`main was suspended holding the write lock ${maxAttempts} times in a row`);
}

/** Takes and at once gives back the write lock; false when another process holds it past the probe's timeout. */
function writeLockFree(dbPath: string): boolean {
  const db = new Database(dbPath, { fileMustExist: true, timeout: lockProbeTimeoutMs });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return true;
  } catch (error) {
    if (classifySqliteError(error)?.kind === 'db-busy') return false;
    throw error;
  } finally {
    db.close();
  }
}
