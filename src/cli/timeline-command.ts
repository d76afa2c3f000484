/**
 * `todevice timeline`: the main process's decrypted room timeline of a data directory: per message the room, the
 * sender, the time, and the plaintext or why there is none, and whether it was decrypted late.
 *
 * Runtime: node. Read-only, like `todevice inbox`: the store is opened read-only (nothing created, migrated or
 * changed) and read in one transaction; a missing, foreign or damaged file gets the store's one-line error. The
 * status of each message is the dashboard's: `plaintext` (an unencrypted message), `decrypted`, `late` (its key
 * came more than the grace period after the message was paged), `waiting` (not decrypted yet, within the grace
 * period), `withheld` (its sender said, with `m.room_key.withheld`, that it withheld the key: a choice, not a
 * loss) and `unable-to-decrypt` (past the grace period, no key in the store for its Megolm session).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { CLIENT_DB_FILE } from '../shared/data-layout';
import { LATE_DECRYPTION_GRACE_MS } from '../shared/room-key-protocol';
import type { WithheldRoomKey } from '../shared/olm-room-key';
import type { ClientStore } from '../store/open-store';
import { withheldForSession } from '../store/room-key-withheld';
import { StoreOpenError } from '../store/store-errors';
import { timelineOfRoom, timelineRooms, type TimelineEntry } from '../store/timeline';
import { readAccount } from '../store/account';
import { parsePositiveInt, runCommand, UsageError } from './cli-errors';

interface TimelineOptions {
  data: string;
  json?: boolean;
  room?: string;
  limit: number;
}

export type TimelineStatus = 'plaintext' | 'decrypted' | 'late' | 'waiting' | 'withheld' | 'unable-to-decrypt';

export function registerTimelineCommand(program: Command): void {
  program
    .command('timeline')
    .description("print a data directory's decrypted room timeline (read-only)")
    .requiredOption('--data <dir>', 'data directory of a main process (todevice headless --data, or the app)')
    .option('--room <roomId>', 'only this room')
    .option('--json', 'print one JSON object')
    .option('--limit <n>', 'print at most this many messages (the newest)', parsePositiveInt('limit'), 200)
    .addHelpText('after', '\nExample:\n  todevice timeline --data ./phone --room \'!abc:localhost\'')
    .action((options: TimelineOptions) => runCommand(() => printTimeline(options)));
}

interface TimelineView {
  account: { userId: string; deviceId: string } | null;
  rooms: Array<{ roomId: string; events: number }>;
  entries: TimelineEntry[];
  /** The sender's withheld notice for the sessions of entries still undecrypted, by session ID. */
  withheld: Map<string, WithheldRoomKey>;
  nowMs: number;
}

async function printTimeline(options: TimelineOptions): Promise<void> {
  const { readStoreReadOnly } = await import('../store/open-store');
  const dbPath = path.join(options.data, CLIENT_DB_FILE);
  let view: TimelineView;
  try {
    view = readStoreReadOnly(dbPath, (store) => {
      const account = readAccount(store);
      const entries = timelineOfRoom(store, options.room, options.limit);
      return {
        account: account === undefined ? null : { userId: account.userId, deviceId: account.deviceId },
        rooms: timelineRooms(store),
        entries,
        withheld: withheldFor(store, entries),
        nowMs: Date.now(),
      };
    });
  } catch (error) {
    if (error instanceof StoreOpenError) throw new UsageError(error.message);
    throw error;
  }
  if (options.room !== undefined && !view.rooms.some((room) => room.roomId === options.room)) {
    const known = view.rooms.map((room) => room.roomId).join(', ') || 'none yet';
    throw new UsageError(`the timeline has no messages of room ${options.room} (rooms: ${known})`);
  }
  process.stdout.write(options.json ? `${JSON.stringify(toJson(view), null, 2)}\n` : toText(view));
}

/** Withheld notices for the undecrypted entries' sessions (any consumer recorded them). */
function withheldFor(store: ClientStore, entries: readonly TimelineEntry[]): Map<string, WithheldRoomKey> {
  const notices = new Map<string, WithheldRoomKey>();
  for (const entry of entries) {
    if (entry.sessionId === null || entry.decryptedAtMs !== null || notices.has(entry.sessionId)) continue;
    const notice = withheldForSession(store, entry.sessionId);
    if (notice !== undefined) notices.set(entry.sessionId, notice);
  }
  return notices;
}

/**
 * A message whose sender withheld its key (`m.room_key.withheld`) is `withheld` at once: the sender's choice, not
 * a key lost on the way, so it is neither waiting nor a failure to decrypt.
 */
export function statusOf(entry: TimelineEntry, nowMs: number, withheld = false): TimelineStatus {
  if (entry.sessionId === null) return 'plaintext';
  if (entry.decryptedAtMs !== null) return entry.late ? 'late' : 'decrypted';
  if (withheld) return 'withheld';
  return nowMs - entry.seenAtMs <= LATE_DECRYPTION_GRACE_MS ? 'waiting' : 'unable-to-decrypt';
}

function reasonOf(status: TimelineStatus, notice: WithheldRoomKey | undefined): string | undefined {
  if (status === 'waiting') return 'its room key has not reached the store yet';
  if (status === 'withheld' && notice !== undefined) return `the sender withheld its room key (${notice.code}${notice.reason === null ? '' : `: ${notice.reason}`})`;
  if (status === 'unable-to-decrypt') return 'no room key for its Megolm session reached the store';
  return undefined;
}

function noticeOf(view: TimelineView, entry: TimelineEntry): WithheldRoomKey | undefined {
  return entry.sessionId === null ? undefined : view.withheld.get(entry.sessionId);
}

function toJson(view: TimelineView): Record<string, unknown> {
  return {
    account: view.account && { user_id: view.account.userId, device_id: view.account.deviceId },
    rooms: view.rooms.map((room) => ({ room_id: room.roomId, events: room.events })),
    timeline: view.entries.map((entry) => {
      const notice = noticeOf(view, entry);
      const status = statusOf(entry, view.nowMs, notice !== undefined);
      const reason = reasonOf(status, notice);
      return {
        event_id: entry.eventId,
        room_id: entry.roomId,
        sender: entry.sender,
        origin_server_ts: entry.originServerTs,
        encrypted: entry.sessionId !== null,
        status,
        body: entry.body,
        ...(reason === undefined ? {} : { reason }),
        late: entry.late,
        decrypted_at_ms: entry.decryptedAtMs,
      };
    }),
  };
}

const STATUS_TEXT: Record<TimelineStatus, string> = {
  plaintext: '',
  decrypted: '',
  late: ' (decrypted late)',
  waiting: 'waiting for its room key',
  withheld: 'the sender withheld its room key',
  'unable-to-decrypt': 'unable to decrypt: no room key for its session',
};

function toText(view: TimelineView): string {
  const lines: string[] = [];
  const who = view.account === null ? 'no account yet' : `${view.account.userId} device ${view.account.deviceId}`;
  lines.push(`timeline  ${who}; ${view.rooms.length} room(s), ${view.rooms.reduce((sum, room) => sum + room.events, 0)} message(s); newest ${view.entries.length} shown`);
  let room: string | undefined;
  for (const entry of view.entries) {
    if (entry.roomId !== room) {
      room = entry.roomId;
      lines.push(room);
    }
    const notice = noticeOf(view, entry);
    const status = statusOf(entry, view.nowMs, notice !== undefined);
    const time = new Date(entry.originServerTs).toISOString().replace('T', ' ').slice(0, 19);
    const withheldText = status === 'withheld' && notice !== undefined ? ` (${notice.code})` : '';
    const text = entry.body === null ? `<${STATUS_TEXT[status]}${withheldText}>` : `${entry.body}${STATUS_TEXT[status]}`;
    lines.push(`  ${time}  ${entry.sender}  ${text}`);
  }
  return `${lines.join('\n')}\n`;
}
