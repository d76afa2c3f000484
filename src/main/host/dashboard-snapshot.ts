/**
 * Builds the dashboard's `DashboardSnapshot` from the shared store, the homeserver's own record and the host's
 * list of processes it started.
 *
 * Runtime: node. The counters are an oracle, not a tally kept by the code under test: `sent` and the messages
 * pending on the server come from the homeserver's inspection endpoint (what it accepted, what it still holds),
 * `received` and `duplicated` from the `handled` rows the main consumer wrote in the same transaction as its
 * cursor, and the messages pending locally from the inbox rows after main's cursor. A message the server no
 * longer holds and the main consumer never handled is lost for good. The encryption counters come from the store
 * too: the notification log the notifiers wrote and the timeline the main process decrypted.
 *
 * The data directory outlives a run of the app, so every figure is split at the moment this run started
 * (`runStartedAtMs`): a message belongs to the run that sent it (its `sent_at_ms` stamp), a notification to the
 * run that showed it, a timeline event to the run that sent it. This run's figures are the big ones; what earlier
 * runs left is reported apart (`earlierRuns`), never mixed in. The server counts only a total of accepted
 * messages, so the host reads it once when the run starts (`acceptedBeforeRun`) and this run's `sent` is the
 * difference. The notifications listed are the same rows of the notification log the counters count, so the
 * list and its counters cannot disagree.
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
  OlmView,
  StorageView,
  TimelineEntryView,
} from '../../shared/ui-api';
import { LATE_DECRYPTION_GRACE_MS } from '../../shared/room-key-protocol';
import { countEventsByPid, latestEventsOf, latestEventsOfKind } from '../../store/event-log';
import { hasHandledTag, messageSentAtMs, messageTag, recentLatencies, summarizeHandled, unhandledTagCount } from '../../store/handled';
import { inboxStats, latestInbox } from '../../store/inbox';
import { readOlmStats } from '../../store/olm-stats';
import { readStorageStats } from '../../store/storage-stats';
import { listCursors } from '../../store/cursors';
import { countNotifications, recentNotifications } from '../../store/notification-log';
import { roomKeyCount } from '../../store/room-keys';
import { withheldForSession } from '../../store/room-key-withheld';
import { recentTimeline, summarizeTimeline } from '../../store/timeline';
import { readLease, TO_DEVICE_LEASE_KEY } from '../../store/lease';
import type { ClientStore } from '../../store/open-store';
import type { TimeWindow } from '../../store/time-window';
import { readToken } from '../../store/token';
import type { Account } from '../../store/account';
import { MAIN_CONSUMER } from './main-sync';

/** What the host knows of a process it started; the snapshot adds its counts and events from the event log. */
export type LaneRecord = Pick<ProcessLane, 'name' | 'kind' | 'pid' | 'startedAtMs' | 'endedAtMs' | 'exitCode' | 'signal'> & {
  suspended?: boolean;
};

export interface SnapshotInput {
  store: ClientStore;
  account: Account;
  strategy: Strategy;
  mainSuspended: boolean;
  homeserverUrl: string;
  dataDir: string;
  /** When this run of the app began; everything before belongs to earlier runs. */
  runStartedAtMs: number;
  /** The homeserver's record for the desktop device, when its admin surface is reachable. */
  inspection: DeviceInspection | null;
  /** The homeserver's `accepted` count when this run began (0 without an inspection). */
  acceptedBeforeRun: number;
  /** Messages the host sent this run, for when there is no inspection (a real homeserver). */
  sentByHost: number;
  lanes: readonly LaneRecord[];
  /** The texts the notifier runs of this run reported, newest first; the log in the store decides what is listed. */
  notifications: readonly NotificationView[];
  race: RaceView | null;
  /** The clock of the snapshot; default `Date.now()`. */
  nowMs?: number;
}

const maxLanesPerKind = 12;
const laneEventCount = 8;
const notificationsListed = 30;
const timelineListed = 20;

export function buildSnapshot(input: SnapshotInput): DashboardSnapshot {
  const { store } = input;
  const nowMs = input.nowMs ?? Date.now();
  const thisRun: TimeWindow = { fromMs: input.runStartedAtMs };
  const before: TimeWindow = { beforeMs: input.runStartedAtMs };
  return store.db.transaction((): DashboardSnapshot => {
    const token = readToken(store);
    const lease = readLease(store, TO_DEVICE_LEASE_KEY);
    const earlier = {
      counters: buildCounters(input, 'earlier'),
      encryption: buildEncryptionCounters(store, nowMs, before),
    };
    return {
      atMs: nowMs,
      strategy: input.strategy,
      mainSuspended: input.mainSuspended,
      homeserverUrl: input.homeserverUrl,
      userId: input.account.userId,
      deviceId: input.account.deviceId,
      dataDir: input.dataDir,
      run: { startedAtMs: input.runStartedAtMs },
      token: {
        since: token.since,
        history: latestEventsOfKind(store, 'commit', 20).map((e) => ({ since: stringOr(e.detail.nextBatch), atMs: e.atMs, process: `${e.process} ${e.pid}` })),
      },
      lease: {
        holder: lease?.holder ?? null,
        generation: lease?.generation ?? 0,
        expiresAtMs: lease?.expiresAtMs ?? null,
        // src/store/lease.ts releases by setting the expiry to 0 and keeping the holder's name.
        released: lease !== undefined && lease.expiresAtMs === 0,
      },
      cursors: listCursors(store).map((c) => ({ consumer: c.consumer, seq: c.seq })),
      inbox: {
        total: inboxStats(store).count,
        latest: latestInbox(store, 30).map((row) => ({
          seq: row.seq,
          type: row.type,
          sender: row.sender,
          tag: messageTag(row.type, row.content),
          fetchedBy: row.fetchedByProcess,
          fetchedByPid: row.fetchedByPid,
          receivedAtMs: row.receivedAtMs,
        })),
      },
      lanes: buildLanes(store, input.lanes),
      counters: buildCounters(input, 'this-run'),
      notifications: listNotifications(store, input.notifications, thisRun),
      encryption: buildEncryptionCounters(store, nowMs, thisRun),
      timeline: recentTimeline(store, timelineListed, thisRun).map(
        (entry): TimelineEntryView => ({
          eventId: entry.eventId,
          sender: entry.sender,
          originServerTs: entry.originServerTs,
          encrypted: entry.sessionId !== null,
          body: entry.body,
          awaitingKey: entry.sessionId !== null && entry.decryptedAtMs === null && nowMs - entry.seenAtMs <= LATE_DECRYPTION_GRACE_MS,
          withheldCode: entry.sessionId !== null && entry.decryptedAtMs === null ? (withheldForSession(store, entry.sessionId)?.code ?? null) : null,
          late: entry.late,
        }),
      ),
      earlierRuns: isEmpty(earlier.counters, earlier.encryption) ? null : earlier,
      latency: recentLatencies(store, MAIN_CONSUMER, 300, thisRun),
      race: input.race,
      storage: buildStorage(store),
      olm: buildOlm(store),
    };
  })();
}

/**
 * Delivery figures of this run or of the earlier ones. Only the candidate tags are looked up (indexed), so the
 * cost does not grow with everything ever received.
 */
function buildCounters(input: SnapshotInput, part: 'this-run' | 'earlier'): DeliveryCounters {
  const inPart = (sentAtMs: number | null): boolean => (sentAtMs !== null && sentAtMs >= input.runStartedAtMs) === (part === 'this-run');
  const window: TimeWindow = part === 'this-run' ? { fromMs: input.runStartedAtMs } : { beforeMs: input.runStartedAtMs };
  const handled = summarizeHandled(input.store, MAIN_CONSUMER, window);
  const received = handled.distinctTags;
  const wasReceived = (tag: string): boolean => hasHandledTag(input.store, MAIN_CONSUMER, tag);

  // Pending locally: committed to the inbox, not yet reached by the main consumer (a window of a few hundred
  // milliseconds while main runs). Under `legacy` the main consumer never handles what the notifier fetched, so
  // those rows are not pending: they are the loss this strategy exists to show.
  const cursor = listCursors(input.store).find((c) => c.consumer === MAIN_CONSUMER)?.seq ?? 0;
  const visibility = input.strategy === 'legacy' ? { fetchedBy: MAIN_CONSUMER } : {};
  const localCount = (exclude: readonly string[]): number =>
    unhandledTagCount(input.store, MAIN_CONSUMER, { afterSeq: cursor, ...visibility, exclude, sentWithin: window });
  const pendingLocally = localCount([]);
  if (input.inspection === null) {
    // Without the server's record we cannot tell a lost message from one still queued on the server.
    const sent = part === 'this-run' ? input.sentByHost : received + pendingLocally;
    return { sent, received, lost: 0, duplicated: handled.duplicates, pendingOnServer: Math.max(0, sent - received - pendingLocally), pendingLocally };
  }
  // Pending on the server: still queued there, and not already safe in the local inbox (an unacknowledged
  // batch is both until the next request acknowledges it; it counts once, as local).
  const queued = new Set<string>();
  for (const message of input.inspection.queued) {
    const tag = messageTag(message.type, message.content);
    if (tag !== null && inPart(messageSentAtMs(message.content)) && !wasReceived(tag)) queued.add(tag);
  }
  const alsoLocal = queued.size === 0 ? 0 : pendingLocally - localCount([...queued]);
  const pendingOnServer = queued.size - alsoLocal;
  const sent = part === 'this-run' ? input.inspection.accepted - input.acceptedBeforeRun : input.acceptedBeforeRun;
  const pending = pendingOnServer + pendingLocally;
  return { sent, received, lost: Math.max(0, sent - received - pending), duplicated: handled.duplicates, pendingOnServer, pendingLocally };
}

function buildLanes(store: ClientStore, records: readonly LaneRecord[]): ProcessLane[] {
  const counts = countEventsByPid(store);
  const newest = (kind: LaneRecord['kind']): LaneRecord[] => records.filter((r) => r.kind === kind).slice(-maxLanesPerKind);
  return [...newest('main'), ...newest('notifier')].map((record) => {
    const byKind = counts.get(record.pid) ?? new Map<string, number>();
    return {
      ...record,
      suspended: record.suspended === true && record.endedAtMs === null,
      requests: byKind.get('request') ?? 0,
      commits: byKind.get('commit') ?? 0,
      staleCommits: byKind.get('stale') ?? 0,
      fencedCommits: byKind.get('fenced') ?? 0,
      events: latestEventsOf(store, record.pid, laneEventCount).map((e) => ({ atMs: e.atMs, kind: e.kind, detail: summarize(e.detail) })),
    };
  });
}

/**
 * This run's notifications as the notification log records them, with the title and body the notifier
 * reported to the host. A notifier killed between recording and reporting leaves a row without text; it is
 * listed all the same (the counters count it), saying so.
 */
function listNotifications(store: ClientStore, reported: readonly NotificationView[], window: TimeWindow): NotificationView[] {
  const byRun = new Map(reported.map((view) => [`${view.eventId} ${view.pid}`, view]));
  return recentNotifications(store, notificationsListed, window).map((row) => {
    const view = byRun.get(`${row.eventId} ${row.pid}`);
    if (view !== undefined) return { ...view, outcome: row.outcome };
    return {
      atMs: row.shownAtMs,
      pid: row.pid,
      eventId: row.eventId,
      title: `notifier pid ${row.pid}`,
      body: 'Shown by the notifier; its text did not reach the dashboard (the process ended before it reported).',
      dataMissing: row.outcome !== 'decrypted' && row.outcome !== 'plain',
      outcome: row.outcome,
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

function buildOlm(store: ClientStore): OlmView {
  const stats = readOlmStats(store);
  const { oneTimeKeysUploaded, serverOneTimeKeys, decrypted, decryptedAfterQuery, wedgedDevices, recoveries, withheldSessions } = stats;
  return { oneTimeKeysUploaded, serverOneTimeKeys, decrypted, failures: { ...stats.failures }, decryptedAfterQuery, wedgedDevices, recoveries, withheldSessions };
}

function buildEncryptionCounters(store: ClientStore, nowMs: number, window: TimeWindow): EncryptionCounters {
  const notifications = countNotifications(store, window);
  const timeline = summarizeTimeline(store, nowMs, window);
  return {
    roomKeys: roomKeyCount(store, window),
    notificationsDecrypted: notifications.decrypted,
    notificationsUnableToDecrypt: notifications['unable-to-decrypt'],
    // A withheld key is the sender's choice, not a lost key: it is not an "unable to decrypt".
    notificationsOther: notifications.plain + notifications.withheld + notifications['data-missing'] + notifications['fetch-failed'],
    timelineEncrypted: timeline.encrypted,
    timelineAwaitingKey: timeline.awaitingKey,
    timelineUnableToDecrypt: timeline.unableToDecrypt,
    timelineLate: timeline.late,
  };
}

function isEmpty(counters: DeliveryCounters, encryption: EncryptionCounters): boolean {
  return Object.values(counters).every((n) => n === 0) && Object.values(encryption).every((n) => n === 0);
}
