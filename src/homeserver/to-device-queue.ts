/**
 * The per-device to-device queue: enqueue, acknowledge, take a batch, inspect.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees (DESIGN.md §3, MSC3885, MSC4538):
 * - Stream ids are global and strictly increasing (see migrations.ts), so per-sender order is kept and a new
 *   message always sorts after every position already handed out.
 * - `acknowledge(since)` deletes exactly this device's messages with `stream_id <= since`, in one transaction
 *   that raises `acked_stream_id` and the `deleted` counter by the number of messages it deleted; acknowledged
 *   messages are never returned again, nor inspected, nor counted again. A message is deleted when
 *   `acked_stream_id` passes it: every read here looks only above `acked_stream_id`. Its row leaves the table in
 *   bulk, once an acknowledgement's `since` crosses a multiple of `ACKED_ROWS_DELETE_STRIDE` stream ids: in a
 *   transaction of its own (a sweep) in the next turn of the event loop, after the acknowledging request's answer
 *   is on its way, which deletes every row of the device at or below its committed `acked_stream_id`, read in
 *   the sweep's own transaction. So a device keeps about one stride of acknowledged rows, and a sweep can never
 *   delete a row that is not acknowledged: an acknowledgement that rolled back raised nothing, and a crash before
 *   the sweep leaves rows that the device's next sweep takes. For the same reason a sweep commits without
 *   waiting for the disk (db.ts `withoutWaitingForDisk`): lost in a power cut, it leaves acknowledged rows that
 *   nothing reads and the next sweep deletes, and its fsync was a quarter of what a sweep cost (1.9 against
 *   1.4 ms for 1,000 rows, measured alone). Why bulk at all: a `DELETE` of a client's 100 acknowledged rows
 *   rewrote 14 to 18 pages (the table's and its index's leaves, rebalanced row by row), most of a drained batch's
 *   commit; ten batches' rows deleted at once cost 6 pages a batch, and the acknowledgements in between write
 *   only the device row. Done inside the acknowledging transaction, that bulk delete was still a tenth of the
 *   server's time per drained batch, on the path of the request that crossed the stride; the sweep runs while
 *   the client commits its batch (bench case 1, drain against the drain floor, alternated: 0.71 to 0.79 of it
 *   with the sweep, 0.68 to 0.71 without).
 * - `takeBatch` returns rows with `stream_id > max(after, acked_stream_id)`, oldest first, at most `limit`. Its
 *   `nextStreamId` is the last returned row's id, or when nothing is returned `max(after, acked_stream_id)`:
 *   every row at or below it was either returned or already acknowledged, so acknowledging it later never
 *   deletes an unseen message. A retry with the same `since` therefore gets the same events first, in the same
 *   order.
 * - `takeBatch` raises `max_issued_stream_id`, which is how a `since` "from the future" is recognised.
 */
import type { DeviceInspection } from '../shared/admin-wire';
import type { ToDeviceEvent } from '../shared/wire';
import type { Statement } from 'better-sqlite3';
import { immediate, withoutWaitingForDisk, type Db } from './db';

export interface QueuedMessage {
  userId: string;
  deviceId: string;
  type: string;
  sender: string;
  content: Record<string, unknown>;
  /** `content` already serialised as JSON (a caller that measured its size has it): stored instead of serialising it again. */
  contentJson?: string;
}

/** Rows per multi-row `INSERT` (5 parameters each, far below SQLite's parameter limit). */
const ROWS_PER_INSERT = 32;

/** Acknowledged rows leave the table when `acked_stream_id` crosses a multiple of this (see the module header). */
export const ACKED_ROWS_DELETE_STRIDE = 1000;

export interface Batch {
  events: ToDeviceEvent[];
  nextStreamId: number;
}

interface DevicePositions {
  acked_stream_id: number;
  max_issued_stream_id: number;
}

interface QueueRow {
  stream_id: number;
  type: string;
  sender: string;
  content: string;
}

/** A `QueueRow` read as an array: stream id, type, sender, content. */
type RawQueueRow = [number, string, string, string];

export interface ToDeviceQueueOptions {
  /** Told when a sweep fails (a closed or busy database); its rows go with the device's next sweep. */
  onSweepError?: (error: unknown) => void;
}

export class ToDeviceQueue {
  private readonly statements;
  /** `INSERT ... VALUES (...), (...)` for n rows, prepared on first use. */
  private readonly insertRows = new Map<number, Statement>();
  /** Devices whose acknowledged rows wait for a sweep, by `user_id`, `device_id` (see the module header). */
  private readonly sweeps = new Map<string, { userId: string; deviceId: string }>();
  private sweepScheduled = false;

  constructor(
    private readonly db: Db,
    private readonly options: ToDeviceQueueOptions = {},
  ) {
    this.statements = {
      countAccepted: db.prepare(
        'UPDATE devices SET accepted_count = accepted_count + ? WHERE user_id = ? AND device_id = ?',
      ),
      positions: db.prepare(
        'SELECT acked_stream_id, max_issued_stream_id FROM devices WHERE user_id = ? AND device_id = ?',
      ),
      deleteAcknowledged: db.prepare(
        `DELETE FROM to_device_queue WHERE user_id = @userId AND device_id = @deviceId
         AND stream_id <= (SELECT acked_stream_id FROM devices WHERE user_id = @userId AND device_id = @deviceId)`,
      ),
      countBetween: db
        .prepare('SELECT count(*) FROM to_device_queue WHERE user_id = ? AND device_id = ? AND stream_id > ? AND stream_id <= ?')
        .pluck(),
      recordAck: db.prepare(
        `UPDATE devices SET acked_stream_id = max(acked_stream_id, ?), deleted_count = deleted_count + ?
         WHERE user_id = ? AND device_id = ?`,
      ),
      firstAfter: db.prepare(
        'SELECT 1 FROM to_device_queue WHERE user_id = ? AND device_id = ? AND stream_id > ? LIMIT 1',
      ),
      selectAfter: db.prepare(
        `SELECT stream_id, type, sender, content FROM to_device_queue
         WHERE user_id = ? AND device_id = ? AND stream_id > ? ORDER BY stream_id LIMIT ?`,
      ),
      selectAfterRaw: db
        .prepare(
          `SELECT stream_id, type, sender, content FROM to_device_queue
           WHERE user_id = ? AND device_id = ? AND stream_id > ? ORDER BY stream_id LIMIT ?`,
        )
        .raw(true),
      recordIssue: db.prepare(
        `UPDATE devices SET max_issued_stream_id = max(max_issued_stream_id, ?), delivered_count = delivered_count + ?
         WHERE user_id = ? AND device_id = ?`,
      ),
      currentStreamId: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'to_device_queue'"),
      counters: db.prepare(
        `SELECT acked_stream_id, accepted_count, delivered_count, deleted_count FROM devices
         WHERE user_id = ? AND device_id = ?`,
      ),
    };
  }

  /**
   * Appends messages in the given order. Call inside the caller's transaction; returns how many were queued.
   * The rows go in with multi-row inserts (SQLite inserts a `VALUES` list in its order, so stream ids follow the
   * given order), and each device's accepted counter is raised once by its number of messages.
   */
  enqueue(messages: readonly QueuedMessage[]): number {
    for (let start = 0; start < messages.length; start += ROWS_PER_INSERT) {
      const chunk = messages.slice(start, start + ROWS_PER_INSERT);
      const values: unknown[] = [];
      for (const message of chunk) {
        values.push(message.userId, message.deviceId, message.type, message.sender, message.contentJson ?? JSON.stringify(message.content));
      }
      this.insertStatement(chunk.length).run(values);
    }
    for (const [userId, byDevice] of countByDevice(messages)) {
      for (const [deviceId, count] of byDevice) this.statements.countAccepted.run(count, userId, deviceId);
    }
    return messages.length;
  }

  private insertStatement(rows: number): Statement {
    let statement = this.insertRows.get(rows);
    if (statement === undefined) {
      const tuples = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ');
      statement = this.db.prepare(`INSERT INTO to_device_queue (user_id, device_id, type, sender, content) VALUES ${tuples}`);
      this.insertRows.set(rows, statement);
    }
    return statement;
  }

  /** Acknowledged and highest-issued positions of a device, or undefined for an unknown device. */
  positions(userId: string, deviceId: string): DevicePositions | undefined {
    return this.statements.positions.get(userId, deviceId) as DevicePositions | undefined;
  }

  /**
   * Deletes this device's messages up to and including `sinceStreamId`; returns how many were deleted (0 when
   * they were all acknowledged before). Their rows leave the table now or with a later acknowledgement (see the
   * module header).
   */
  acknowledge(userId: string, deviceId: string, sinceStreamId: number): number {
    return immediate(this.db, () => {
      const acked = this.positions(userId, deviceId)?.acked_stream_id;
      if (acked === undefined || sinceStreamId <= acked) return 0;
      const deleted = this.statements.countBetween.get(userId, deviceId, acked, sinceStreamId) as number;
      this.statements.recordAck.run(sinceStreamId, deleted, userId, deviceId);
      if (Math.floor(sinceStreamId / ACKED_ROWS_DELETE_STRIDE) > Math.floor(acked / ACKED_ROWS_DELETE_STRIDE)) {
        this.scheduleSweep(userId, deviceId);
      }
      return deleted;
    });
  }

  /**
   * Deletes the acknowledged rows of every device waiting for a sweep, in one transaction; returns how many rows
   * left the table. Runs by itself in the turn after an acknowledgement that crossed a stride; tests call it.
   */
  sweepAcknowledged(): number {
    const devices = [...this.sweeps.values()];
    this.sweeps.clear();
    if (devices.length === 0) return 0;
    return withoutWaitingForDisk(this.db, () => devices.reduce((rows, device) => rows + this.statements.deleteAcknowledged.run(device).changes, 0));
  }

  private scheduleSweep(userId: string, deviceId: string): void {
    this.sweeps.set(JSON.stringify([userId, deviceId]), { userId, deviceId });
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    setImmediate(() => {
      this.sweepScheduled = false;
      if (!this.db.open) return;
      try {
        this.sweepAcknowledged();
      } catch (error) {
        this.options.onSweepError?.(error);
      }
    });
  }

  /** The stream's current position: the highest stream id ever given to a message (0 before the first). */
  currentStreamId(): number {
    const row = this.statements.currentStreamId.get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  /** Whether a message for this device is queued after `afterStreamId` and not acknowledged. */
  hasEventsAfter(userId: string, deviceId: string, afterStreamId: number): boolean {
    return this.statements.firstAfter.get(userId, deviceId, this.unacknowledgedAfter(userId, deviceId, afterStreamId)) !== undefined;
  }

  /** Where this device's unacknowledged messages after `afterStreamId` begin: rows at or below it are not read. */
  private unacknowledgedAfter(userId: string, deviceId: string, afterStreamId: number): number {
    return Math.max(afterStreamId, this.positions(userId, deviceId)?.acked_stream_id ?? 0);
  }

  /** The next batch after `afterStreamId` (see the module header for `nextStreamId`), recorded as delivered. */
  takeBatch(userId: string, deviceId: string, afterStreamId: number, limit: number): Batch {
    const { value: events, nextStreamId } = this.take(userId, deviceId, afterStreamId, (after) => {
      const rows = this.statements.selectAfter.all(userId, deviceId, after, limit) as QueueRow[];
      const read = rows.map((row) => ({ type: row.type, sender: row.sender, content: JSON.parse(row.content) as Record<string, unknown> }));
      return { value: read, count: rows.length, lastStreamId: rows[rows.length - 1]?.stream_id };
    });
    return { events, nextStreamId };
  }

  /**
   * As `takeBatch`, with the events as one JSON array text: each stored content is spliced in as the JSON text
   * `enqueue` wrote, never parsed (json-text.ts says why). The rows are read as arrays and the text is built in
   * one pass, each distinct type and sender encoded once: a drained batch is 100 rows, and one object per row
   * and an intermediate string per event were most of the cost of answering it.
   */
  takeBatchText(userId: string, deviceId: string, afterStreamId: number, limit: number): { eventsJson: string; nextStreamId: number } {
    const { value: eventsJson, nextStreamId } = this.take(userId, deviceId, afterStreamId, (after) => {
      const rows = this.statements.selectAfterRaw.all(userId, deviceId, after, limit) as RawQueueRow[];
      const typeJson = new JsonStrings();
      const senderJson = new JsonStrings();
      let text = '[';
      for (let i = 0; i < rows.length; i += 1) {
        const row = rows[i] as RawQueueRow;
        text += `${i === 0 ? '' : ','}{"type":${typeJson.of(row[1])},"sender":${senderJson.of(row[2])},"content":${row[3]}}`;
      }
      return { value: `${text}]`, count: rows.length, lastStreamId: rows[rows.length - 1]?.[0] };
    });
    return { eventsJson, nextStreamId };
  }

  /**
   * Reads the rows after `max(afterStreamId, acked_stream_id)` with `read` and records them as delivered, with
   * the `nextStreamId` of the module header. One write after the reads: inside a caller's transaction (a woken
   * long poll's, the sender's) it needs no savepoint of its own; alone, the transaction keeps the reads and the
   * write together.
   */
  private take<T>(
    userId: string,
    deviceId: string,
    afterStreamId: number,
    read: (after: number) => { value: T; count: number; lastStreamId: number | undefined },
  ): { value: T; nextStreamId: number } {
    const take = (): { value: T; nextStreamId: number } => {
      const after = this.unacknowledgedAfter(userId, deviceId, afterStreamId);
      const rows = read(after);
      const nextStreamId = rows.lastStreamId ?? after;
      this.statements.recordIssue.run(nextStreamId, rows.count, userId, deviceId);
      return { value: rows.value, nextStreamId };
    };
    return this.db.inTransaction ? take() : immediate(this.db, take);
  }

  /**
   * What the oracle sees for one device's queue, or undefined when the device does not exist. The long polls
   * waiting for it are the waiters' to count (admin-routes.ts adds them).
   */
  inspect(userId: string, deviceId: string): Omit<DeviceInspection, 'waiting_polls'> | undefined {
    const counters = this.statements.counters.get(userId, deviceId) as
      | { acked_stream_id: number; accepted_count: number; delivered_count: number; deleted_count: number }
      | undefined;
    if (counters === undefined) return undefined;
    const rows = this.statements.selectAfter.all(userId, deviceId, counters.acked_stream_id, -1) as QueueRow[];
    return {
      user_id: userId,
      device_id: deviceId,
      queued: rows.map((row) => ({
        stream_id: row.stream_id,
        type: row.type,
        sender: row.sender,
        content: JSON.parse(row.content) as Record<string, unknown>,
      })),
      acked_stream_id: counters.acked_stream_id,
      accepted: counters.accepted_count,
      delivered: counters.delivered_count,
      deleted: counters.deleted_count,
    };
  }
}

/** JSON string literals of the strings a batch repeats (its types and senders), each encoded once per batch. */
class JsonStrings {
  private readonly encoded = new Map<string, string>();

  of(value: string): string {
    let json = this.encoded.get(value);
    if (json === undefined) {
      json = JSON.stringify(value);
      this.encoded.set(value, json);
    }
    return json;
  }
}

/** How many of `messages` go to each device: user ID → device ID → count. */
function countByDevice(messages: readonly QueuedMessage[]): Map<string, Map<string, number>> {
  const counts = new Map<string, Map<string, number>>();
  for (const { userId, deviceId } of messages) {
    let byDevice = counts.get(userId);
    if (byDevice === undefined) counts.set(userId, (byDevice = new Map()));
    byDevice.set(deviceId, (byDevice.get(deviceId) ?? 0) + 1);
  }
  return counts;
}
