/**
 * Group commit for `sendToDevice`: requests that are ready in the same turn of the event loop commit together,
 * in one `BEGIN IMMEDIATE` transaction, so concurrent senders share one fsync instead of paying one each.
 *
 * Runtime: node (homeserver only). Guarantees:
 * - A request is answered only after the transaction that holds its messages committed: nothing is acknowledged
 *   that is not durable. When the commit fails, every request of the group gets that error and nothing of the
 *   group was written.
 * - Each request's work (its checks and its transaction record) runs in a savepoint of its own inside the group's
 *   transaction: a request whose work throws gets its own error and leaves no trace and queues nothing, and the
 *   others commit as if it had not been there. A request alone in its group (every live message) needs no
 *   savepoint: a throw rolls the group's transaction back, which holds nothing else.
 * - The messages the requests' work returned are queued together after it, in the order the requests were
 *   submitted (one multi-row insert, to-device-queue.ts), so the queue order (per-sender order) is the order in
 *   which the requests were handled, as without grouping.
 * - Waiting long polls of the recipient devices take their batch inside the group's transaction, once per
 *   device, after every request's messages are queued (device-waiters.ts): one batch carries the whole group.
 *   They are woken after the commit, and answered before the senders: the senders' answers wait one more turn.
 * - A request that comes alone, more than `BURST_GAP_MS` after the last commit ended, commits at once, within its
 *   own request handling, as it would without grouping. One that comes during a burst waits for nothing but one
 *   `setImmediate` turn: the group is whatever else is ready then. Nothing waits for a group to fill.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { immediate, type Db } from './db';
import type { DeviceWaiters } from './device-waiters';
import type { QueuedMessage, ToDeviceQueue } from './to-device-queue';

/** Requests closer together than this to the last commit are a burst, and wait one turn to commit as a group. */
const BURST_GAP_MS = 2;

interface Job {
  work: () => readonly QueuedMessage[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class ToDeviceGroupCommit {
  private pending: Job[] = [];
  private scheduled = false;
  /**
   * When the last transaction ended (committed or failed). Measured from the end, not the start: a commit that
   * waits several milliseconds for its fsync would otherwise make every request read right after it look like
   * one that came alone, and on a slow disk nothing would ever be grouped.
   */
  private lastCommitEndMs = Number.NEGATIVE_INFINITY;
  /** Transactions committed, and requests they held: for tests and the bench. */
  readonly stats = { groups: 0, requests: 0 };

  private readonly burstGapMs: number;

  /** `burstGapMs`: see `BURST_GAP_MS` (tests pass Infinity to group every request). */
  constructor(
    private readonly db: Db,
    private readonly queue: ToDeviceQueue,
    private readonly waiters: DeviceWaiters,
    options: { burstGapMs?: number } = {},
  ) {
    this.burstGapMs = options.burstGapMs ?? BURST_GAP_MS;
  }

  /**
   * Runs `work` (synchronous SQLite reads and writes, such as the request's transaction record) in the next
   * group's transaction, and queues the messages it returns with the rest of the group's; resolves once that
   * committed.
   */
  submit(work: () => readonly QueuedMessage[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ work, resolve, reject });
      if (this.scheduled) return;
      // A request that comes alone, long after the last commit (a live message), commits at once: waiting a turn
      // for company that is not coming would only add to its latency. During a burst, the turn gathers the group.
      if (this.pending.length === 1 && performance.now() - this.lastCommitEndMs > this.burstGapMs) {
        void this.commitGroup();
        return;
      }
      this.scheduled = true;
      setImmediate(() => void this.commitGroup());
    });
  }

  private async commitGroup(): Promise<void> {
    const jobs = this.pending;
    this.pending = [];
    this.scheduled = false;
    const failures = new Map<Job, unknown>();
    const devices = new Map<string, Set<string>>();
    try {
      immediate(this.db, () => {
        const queued: QueuedMessage[] = [];
        // A request alone in its group needs no savepoint: the group's transaction holds nothing else, so a throw
        // rolls it back whole and that request gets the error, as it would from its savepoint.
        if (jobs.length === 1) {
          for (const message of (jobs[0] as Job).work()) queued.push(message);
        } else {
          for (const job of jobs) {
            try {
              // Nested inside the group's transaction, this is a savepoint: a throw undoes this job alone.
              for (const message of immediate(this.db, job.work)) queued.push(message);
            } catch (error) {
              failures.set(job, error);
            }
          }
        }
        // The whole group's messages in one go, in submission order; a failure here fails the group.
        this.queue.enqueue(queued);
        for (const { userId, deviceId } of queued) {
          let ofUser = devices.get(userId);
          if (ofUser === undefined) devices.set(userId, (ofUser = new Set()));
          if (ofUser.has(deviceId)) continue;
          ofUser.add(deviceId);
          this.waiters.prepare(userId, deviceId);
        }
      });
    } catch (error) {
      this.lastCommitEndMs = performance.now();
      for (const [userId, ofUser] of devices) for (const deviceId of ofUser) this.waiters.discardPrepared(userId, deviceId);
      for (const job of jobs) job.reject(error);
      return;
    }
    this.lastCommitEndMs = performance.now();
    this.stats.groups += 1;
    this.stats.requests += jobs.length - failures.size;
    let woken = 0;
    for (const [userId, ofUser] of devices) for (const deviceId of ofUser) woken += this.waiters.notify(userId, deviceId);
    if (woken > 0) await nextTurn();
    for (const job of jobs) {
      if (failures.has(job)) job.reject(failures.get(job));
      else job.resolve();
    }
  }
}
