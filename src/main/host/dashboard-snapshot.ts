/**
 * Builds the dashboard's `DashboardSnapshot` from the shared store, the homeserver's own record and the host's
 * list of processes it started.
 *
 * Runtime: node. The counters are an oracle, not a tally kept by the code under test: `sent` and `pending` come
 * from the homeserver's inspection endpoint (what it accepted, what it still holds), `received` and
 * `duplicated` from the `handled` rows the main consumer wrote in the same transaction as its cursor. A message
 * the server no longer holds and the main consumer never handled is lost for good. The encryption counters come
 * from the store too: the notification log the notifiers wrote and the timeline the main process decrypted.
 *
 * Its cost does not grow with the store's age or with a backlog: it reads the newest few rows of each list and
 * computes every count in SQL (the pending tags in the inbox included), never a listing of the inbox.
 */
import type { Strategy } from '../../engine/engine-types';
import type { DeviceInspection } from '../../shared/admin-wire';
import type {
  DashboardSnapshot,
  DeliveryCounters,
  EncryptionCounters,
  NotificationView,
  ProcessLane,
  RaceView,
  StorageView,
  TimelineEntryView,
} from '../../shared/ui-api';
import { countEventsByPid, latestEventsOf, latestEventsOfKind } from '../../store/event-log';
import { hasHandledTag, messageTag, recentLatencies, summarizeHandled, unhandledTagCount } from '../../store/handled';
import { inboxStats, latestInbox } from '../../store/inbox';
import { readStorageStats } from '../../store/storage-stats';
import { listCursors } from '../../store/cursors';
import { countNotifications } from '../../store/notification-log';
import { roomKeyCount } from '../../store/room-keys';
import { recentTimeline, summarizeTimeline } from '../../store/timeline';
import { readLease } from '../../store/lease';
import type { ClientStore } from '../../store/open-store';
import { readToken } from '../../store/token';
import type { Account } from '../../store/account';
import { MAIN_CONSUMER } from './main-sync';

/** What the host knows of a process it started; the snapshot adds its counts and events from the event log. */
export type LaneRecord = Pick<ProcessLane, 'name' | 'kind' | 'pid' | 'startedAtMs' | 'endedAtMs' | 'exitCode' | 'signal'>;

export interface SnapshotInput {
  store: ClientStore;
  account: Account;
  strategy: Strategy;
  mainSuspended: boolean;
  homeserverUrl: string;
  /** The homeserver's record for the desktop device, when its admin surface is reachable. */
  inspection: DeviceInspection | null;
  /** Messages the host sent, for when there is no inspection (a real homeserver). */
  sentByHost: number;
  lanes: readonly LaneRecord[];
  notifications: readonly NotificationView[];
  race: RaceView | null;
}

const maxLanesPerKind = 12;
const laneEventCount = 8;

export function buildSnapshot(input: SnapshotInput): DashboardSnapshot {
  const { store } = input;
  return store.db.transaction((): DashboardSnapshot => {
    const token = readToken(store);
    const lease = readLease(store, 'to-device');
    return {
      atMs: Date.now(),
      strategy: input.strategy,
      mainSuspended: input.mainSuspended,
      homeserverUrl: input.homeserverUrl,
      userId: input.account.userId,
      deviceId: input.account.deviceId,
      token: {
        since: token.since,
        history: latestEventsOfKind(store, 'commit', 20).map((e) => ({ since: stringOr(e.detail.nextBatch), atMs: e.atMs, process: `${e.process} ${e.pid}` })),
      },
      lease: { holder: lease?.holder ?? null, generation: lease?.generation ?? 0, expiresAtMs: lease?.expiresAtMs ?? null },
      cursors: listCursors(store).map((c) => ({ consumer: c.consumer, seq: c.seq })),
      inbox: {
        total: inboxStats(store).count,
        latest: latestInbox(store, 30).map((row) => ({
          seq: row.seq,
          type: row.type,
          sender: row.sender,
          tag: messageTag(row.content),
          fetchedBy: row.fetchedByProcess,
          fetchedByPid: row.fetchedByPid,
          receivedAtMs: row.receivedAtMs,
        })),
      },
      lanes: buildLanes(store, input.lanes),
      counters: buildCounters(input),
      notifications: input.notifications.slice(0, 30),
      encryption: buildEncryptionCounters(store),
      timeline: recentTimeline(store, 20).map(
        (entry): TimelineEntryView => ({
          eventId: entry.eventId, sender: entry.sender, originServerTs: entry.originServerTs, encrypted: entry.sessionId !== null, body: entry.body, late: entry.late,
        }),
      ),
      latency: recentLatencies(store, MAIN_CONSUMER, 300),
      race: input.race,
      storage: buildStorage(store),
    };
  })();
}

function buildCounters(input: SnapshotInput): DeliveryCounters {
  const handled = summarizeHandled(input.store, MAIN_CONSUMER);
  const received = handled.distinctTags;
  if (input.inspection === null) {
    // Without the server's record we cannot tell a lost message from one still queued.
    return { sent: input.sentByHost, received, lost: 0, duplicated: handled.duplicates, pending: Math.max(0, input.sentByHost - received) };
  }
  // Only the few candidate tags are looked up (indexed), so the cost does not grow with everything ever received.
  const wasReceived = (tag: string): boolean => hasHandledTag(input.store, MAIN_CONSUMER, tag);
  // Pending: still queued on the server, or committed to the inbox and not yet reached by the main consumer (a
  // window of a few hundred milliseconds). Under `legacy` the main consumer never handles what the notifier
  // fetched, so those rows are not pending: they are the loss this strategy exists to show.
  const waiting = new Set<string>();
  for (const message of input.inspection.queued) {
    const tag = messageTag(message.content);
    if (tag !== null && !wasReceived(tag)) waiting.add(tag);
  }
  const cursor = listCursors(input.store).find((c) => c.consumer === MAIN_CONSUMER)?.seq ?? 0;
  const inInbox = unhandledTagCount(input.store, MAIN_CONSUMER, {
    afterSeq: cursor,
    ...(input.strategy === 'legacy' ? { fetchedBy: MAIN_CONSUMER } : {}),
    exclude: [...waiting],
  });
  const pending = waiting.size + inInbox;
  const sent = input.inspection.accepted;
  return { sent, received, lost: Math.max(0, sent - received - pending), duplicated: handled.duplicates, pending };
}

function buildLanes(store: ClientStore, records: readonly LaneRecord[]): ProcessLane[] {
  const counts = countEventsByPid(store);
  const newest = (kind: LaneRecord['kind']): LaneRecord[] => records.filter((r) => r.kind === kind).slice(-maxLanesPerKind);
  return [...newest('main'), ...newest('notifier')].map((record) => {
    const byKind = counts.get(record.pid) ?? new Map<string, number>();
    return {
      ...record,
      requests: byKind.get('request') ?? 0,
      commits: byKind.get('commit') ?? 0,
      staleCommits: byKind.get('stale') ?? 0,
      fencedCommits: byKind.get('fenced') ?? 0,
      events: latestEventsOf(store, record.pid, laneEventCount).map((e) => ({ atMs: e.atMs, kind: e.kind, detail: summarize(e.detail) })),
    };
  });
}

function summarize(detail: Record<string, unknown>): string {
  const text = JSON.stringify(detail);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

function stringOr(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function buildStorage(store: ClientStore): StorageView {
  const { fileBytes, walBytes, freePages, autoVacuum, rows, removed, lastCompactionAtMs } = readStorageStats(store);
  return { fileBytes, walBytes, freePages, autoVacuum, rows, removed, lastCompactionAtMs };
}

function buildEncryptionCounters(store: ClientStore): EncryptionCounters {
  const notifications = countNotifications(store);
  const timeline = summarizeTimeline(store);
  return {
    roomKeys: roomKeyCount(store),
    notificationsDecrypted: notifications.decrypted,
    notificationsUnableToDecrypt: notifications['unable-to-decrypt'],
    timelineEncrypted: timeline.encrypted,
    timelineUnableToDecrypt: timeline.unableToDecrypt,
    timelineLate: timeline.late,
  };
}
