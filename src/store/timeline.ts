/**
 * The main process's timeline of room events (migration 0003): what it paged in, what it could decrypt, and what
 * became decryptable only later.
 *
 * Runtime: node. A page of events is written together with the token that follows it (`appendTimelinePage`, one
 * transaction), so a crash between the two cannot skip events or page them twice; an event already present is
 * left as it is. An event that could not be decrypted stays with `decrypted_at_ms` NULL until
 * `markTimelineDecrypted` fills it in, which also marks it `late` when that happened more than
 * `LATE_DECRYPTION_GRACE_MS` after it was first paged (`seen_at_ms`): its key came so long after the message that
 * the user saw "unable to decrypt". Within that grace period the event is "awaiting its key", neither late nor
 * unable to decrypt. Counting an undecryptable event as lost would be wrong when its key is merely slow, and
 * counting a late one as fine would hide the harm, so both are reported.
 */
import { LATE_DECRYPTION_GRACE_MS } from '../shared/room-key-protocol';
import type { ClientStore } from './open-store';
import { includesPrunedHistory, sqlBounds, type TimeWindow } from './time-window';
import { countersOf } from './store-counters';

export interface TimelineEntry {
  eventId: string;
  roomId: string;
  sender: string;
  originServerTs: number;
  /** The Megolm session for encrypted events, null for plaintext ones. */
  sessionId: string | null;
  /** The plaintext body; null while undecryptable. */
  body: string | null;
  /** The encrypted event as JSON, kept while it is undecryptable so it can be retried. */
  ciphertext: string | null;
  seenAtMs: number;
  decryptedAtMs: number | null;
  late: boolean;
}

interface TimelineDbRow {
  event_id: string;
  room_id: string;
  sender: string;
  origin_server_ts: number;
  session_id: string | null;
  body: string | null;
  ciphertext: string | null;
  seen_at_ms: number;
  decrypted_at_ms: number | null;
  late: number;
}

const COLUMNS = 'event_id, room_id, sender, origin_server_ts, session_id, body, ciphertext, seen_at_ms, decrypted_at_ms, late';

function toEntry(row: TimelineDbRow): TimelineEntry {
  return {
    eventId: row.event_id, roomId: row.room_id, sender: row.sender, originServerTs: row.origin_server_ts,
    sessionId: row.session_id, body: row.body, ciphertext: row.ciphertext, seenAtMs: row.seen_at_ms, decryptedAtMs: row.decrypted_at_ms, late: row.late === 1,
  };
}

export function timelinePosition(store: ClientStore, roomId: string): string | undefined {
  return (store.statement('SELECT next_from FROM timeline_positions WHERE room_id = ?').get(roomId) as { next_from: string } | undefined)?.next_from;
}

/** Appends a page of entries (first attempt's outcome) and the token after it, in one transaction. */
export function appendTimelinePage(store: ClientStore, roomId: string, entries: readonly TimelineEntry[], nextFrom: string): void {
  const insert = store.statement(
    `INSERT INTO timeline (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
  );
  const position = store.statement(
    `INSERT INTO timeline_positions (room_id, next_from) VALUES (?, ?)
     ON CONFLICT (room_id) DO UPDATE SET next_from = excluded.next_from`,
  );
  store.immediate(() => {
    for (const e of entries) {
      insert.run(e.eventId, e.roomId, e.sender, e.originServerTs, e.sessionId, e.body, e.ciphertext, e.seenAtMs, e.decryptedAtMs, e.late ? 1 : 0);
    }
    position.run(roomId, nextFrom);
  });
}

/** Undecrypted encrypted entries whose session is one of `sessionIds`. */
export function undecryptedInSessions(store: ClientStore, sessionIds: readonly string[]): TimelineEntry[] {
  if (sessionIds.length === 0) return [];
  const rows = store
    .statement(`SELECT ${COLUMNS} FROM timeline WHERE decrypted_at_ms IS NULL AND session_id IN (SELECT value FROM json_each(?))`)
    .all(JSON.stringify(sessionIds)) as TimelineDbRow[];
  return rows.map(toEntry);
}

/** Every entry still undecrypted (the retry set after a restart, when the process's memory of keys is gone). */
export function undecryptedEntries(store: ClientStore): TimelineEntry[] {
  return (store.statement(`SELECT ${COLUMNS} FROM timeline WHERE decrypted_at_ms IS NULL AND session_id IS NOT NULL`).all() as TimelineDbRow[]).map(toEntry);
}

/**
 * Records that an event could be decrypted after its first attempt failed; it is `late` when that is more than
 * the grace period after it was first paged. Does nothing to an entry that is already decrypted.
 */
export function markTimelineDecrypted(store: ClientStore, eventId: string, body: string, nowMs: number): void {
  store
    .statement(
      `UPDATE timeline SET body = @body, ciphertext = NULL, decrypted_at_ms = @nowMs,
         late = CASE WHEN @nowMs - seen_at_ms > @graceMs THEN 1 ELSE 0 END
       WHERE event_id = @eventId AND decrypted_at_ms IS NULL`,
    )
    .run({ body, nowMs, graceMs: LATE_DECRYPTION_GRACE_MS, eventId });
}

export interface TimelineSummary {
  /** Encrypted events paged in. */
  encrypted: number;
  decrypted: number;
  /** Decrypted, but more than the grace period after they were first paged. */
  late: number;
  /** Not decrypted yet, first paged less than the grace period ago: their key may well be on its way. */
  awaitingKey: number;
  /** Not decrypted, and first paged longer than the grace period ago. */
  unableToDecrypt: number;
}

/**
 * `window` limits the summary to events sent (`origin_server_ts`) inside it; the totals of entries retention
 * pruned are added when the window reaches back to the beginning (src/store/log-retention.ts, time-window.ts).
 */
export function summarizeTimeline(store: ClientStore, nowMs: number, window: TimeWindow = {}): TimelineSummary {
  const row = store
    .statement(
      `SELECT count(*) AS encrypted, count(decrypted_at_ms) AS decrypted, coalesce(sum(late), 0) AS late,
         coalesce(sum(decrypted_at_ms IS NULL AND @nowMs - seen_at_ms <= @graceMs), 0) AS awaiting
       FROM timeline
       WHERE session_id IS NOT NULL AND origin_server_ts >= @fromMs AND origin_server_ts < @beforeMs`,
    )
    .get({ nowMs, graceMs: LATE_DECRYPTION_GRACE_MS, ...sqlBounds(window) }) as {
    encrypted: number;
    decrypted: number;
    late: number;
    awaiting: number;
  };
  const pruned = includesPrunedHistory(window) ? countersOf(store, 'timeline') : new Map<string, number>();
  const encrypted = row.encrypted + (pruned.get('encrypted') ?? 0);
  const decrypted = row.decrypted + (pruned.get('decrypted') ?? 0);
  return {
    encrypted,
    decrypted,
    late: row.late + (pruned.get('late') ?? 0),
    awaitingKey: row.awaiting,
    unableToDecrypt: encrypted - decrypted - row.awaiting,
  };
}

/** The entries for these event IDs (absent ones were not paged in). */
export function timelineEntriesFor(store: ClientStore, eventIds: readonly string[]): Map<string, TimelineEntry> {
  const rows = store
    .statement(`SELECT ${COLUMNS} FROM timeline WHERE event_id IN (SELECT value FROM json_each(?))`)
    .all(JSON.stringify(eventIds)) as TimelineDbRow[];
  return new Map(rows.map((row) => [row.event_id, toEntry(row)]));
}

/** The newest `limit` entries (sent inside `window`), oldest first. */
export function recentTimeline(store: ClientStore, limit: number, window: TimeWindow = {}): TimelineEntry[] {
  const rows = store
    .statement(
      `SELECT ${COLUMNS} FROM timeline WHERE origin_server_ts >= @fromMs AND origin_server_ts < @beforeMs
       ORDER BY origin_server_ts DESC, event_id DESC LIMIT @limit`,
    )
    .all({ ...sqlBounds(window), limit }) as TimelineDbRow[];
  return rows.reverse().map(toEntry);
}

/** The newest `limit` entries of one room, or of every room when `roomId` is undefined, oldest first. */
export function timelineOfRoom(store: ClientStore, roomId: string | undefined, limit: number): TimelineEntry[] {
  const rows = store
    .statement(
      `SELECT ${COLUMNS} FROM timeline WHERE @roomId IS NULL OR room_id = @roomId
       ORDER BY origin_server_ts DESC, event_id DESC LIMIT @limit`,
    )
    .all({ roomId: roomId ?? null, limit }) as TimelineDbRow[];
  return rows.reverse().map(toEntry);
}

/** The rooms the timeline holds events of, with how many each. */
export function timelineRooms(store: ClientStore): Array<{ roomId: string; events: number }> {
  const rows = store.statement('SELECT room_id, count(*) AS n FROM timeline GROUP BY room_id ORDER BY room_id').all() as Array<{ room_id: string; n: number }>;
  return rows.map((row) => ({ roomId: row.room_id, events: row.n }));
}

/** Room messages (encrypted or not) sent inside `window`. */
export function countTimeline(store: ClientStore, window: TimeWindow = {}): number {
  return (store.statement('SELECT count(*) AS n FROM timeline WHERE origin_server_ts >= @fromMs AND origin_server_ts < @beforeMs').get(sqlBounds(window)) as { n: number }).n;
}
