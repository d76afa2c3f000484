/**
 * A PASSIVE WAL checkpoint: copies what the write-ahead log holds into the database file without waiting for
 * any reader or writer, so that commits do not have to.
 *
 * Runtime: node. Left alone, SQLite checkpoints inside whichever commit pushed the WAL past 1000 pages
 * (`wal_autocheckpoint`): that commit then copies about 4 MB into the database file and syncs it, a stall of
 * 10-30 ms that a draining engine hit every eighty batches or so, about a tenth of its commit time (measured by `todevice bench`).
 * The sync engine calls this instead while one of its requests is in flight, time it spends waiting for the
 * server anyway (see `SyncEngine.whileRequestInFlight`), so the WAL stays small and the automatic checkpoint,
 * left on as the safety net for every other writer, rarely fires inside a commit.
 *
 * A checkpoint never changes what is durable: a commit is durable once its WAL frames are synced (at
 * `synchronous = FULL`, before the commit returns), whether or not they were copied into the database file
 * yet. PASSIVE never blocks and never fails because another process is busy; it copies what it can.
 */
import type { ClientStore } from './open-store';

export interface CheckpointResult {
  /** Another connection held a lock the checkpoint needed; it copied what it could. */
  busy: boolean;
  /** Frames in the WAL, and how many of them are now in the database file (-1 for a store with no WAL). */
  walFrames: number;
  checkpointedFrames: number;
}

export function checkpointPassive(store: ClientStore): CheckpointResult {
  const rows = store.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  const row = rows[0];
  if (row === undefined) throw new Error('wal_checkpoint returned no row');
  return { busy: row.busy !== 0, walFrames: row.log, checkpointedFrames: row.checkpointed };
}
