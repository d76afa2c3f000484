/**
 * The one typed API between the dashboard (src/renderer) and the main-process host, with its two transports:
 * Electron IPC through the preload, and HTTP + Server-Sent Events in browser mode. Both ends import this file,
 * so a channel cannot exist on one side only.
 *
 * Runtime: common. Results cross the boundary as values (`UiResult`), never as thrown errors, because an
 * exception does not survive IPC or HTTP with its type intact.
 *
 * Channel names are `noun:verb`. The snapshot is pushed on `snapshot:changed` whenever the host's state moved
 * (and at most every `SNAPSHOT_MIN_INTERVAL_MS`), so the dashboard updates live without polling.
 */

import type { NotificationOutcome } from './notifier-messages';
import type { Strategy } from './strategies';

export { STRATEGIES, type Strategy } from './strategies';

export const SNAPSHOT_MIN_INTERVAL_MS = 200;

export type UiResult<T> = { ok: true; value: T } | { ok: false; error: { kind: string; message: string } };

/** One request channel: its argument and its result. */
export interface UiChannels {
  'snapshot:get': { args: Record<string, never>; result: DashboardSnapshot };
  /** Sends `count` tagged to-device messages from the demo sender to the demo device. */
  'traffic:send-to-device': { args: { count: number }; result: { sent: number } };
  /** Sends a room message from the demo sender; the homeserver pushes it and a notifier starts. */
  /**
   * Sends `text` as a Megolm-encrypted room message (its key by to-device first, unless `withholdKey`); the
   * homeserver pushes it.
   */
  'traffic:send-room-message': {
    args: { text: string; withholdKey?: boolean };
    result: { eventId: string; sessionId: string; keyTag: string | null };
  };
  /** SIGKILLs the newest running notifier (while it syncs, when one is syncing). */
  'process:kill-notifier': { args: Record<string, never>; result: { killedPid: number | null } };
  /** SIGKILLs the main sync process and starts it again on the same data. */
  'process:restart-main': { args: Record<string, never>; result: { oldPid: number; newPid: number } };
  /**
   * SIGSTOPs (or SIGCONTs) the main sync process, the way a phone suspends its app in the background while
   * the notification extension runs. A stopped holder keeps the lease until it expires.
   */
  'process:suspend-main': { args: { suspended: boolean }; result: { pid: number; suspended: boolean } };
  /** Makes the homeserver drop the response of the next sync request of the demo device. */
  'fault:drop-next-response': { args: Record<string, never>; result: { armed: true } };
  /**
   * Starts a race run (`todevice race --strategy all --seed N`, same code) on its own homeserver and processes;
   * its progress and side-by-side result appear in `snapshot.race`. Refused while one runs.
   */
  'race:start': { args: { seed: number }; result: { started: true } };
  /** Switches every process to a strategy (restarts the main sync process). */
  'strategy:set': { args: { strategy: Strategy }; result: { strategy: Strategy } };
  /**
   * Empties the data directory and starts over: stops the main sync process and the notifiers, deletes the
   * store and the embedded homeserver's database (only the files todevice made there), and sets the demo up
   * again. The dashboard asks the user first; `confirm: true` says it did. Refused while a race runs.
   */
  'data:reset': { args: { confirm: true }; result: { dataDir: string; removed: string[] } };
  /**
   * Joins a room (accepts an invite) as the desktop account; the main process's timeline follows every room the
   * account joined, from its next pass. Joining is never automatic: this is the user's explicit act.
   */
  'room:join': { args: { room: string }; result: { roomId: string } };
}

export type UiChannel = keyof UiChannels;
export const UI_CHANNELS: readonly UiChannel[] = [
  'snapshot:get',
  'traffic:send-to-device',
  'traffic:send-room-message',
  'process:kill-notifier',
  'process:restart-main',
  'process:suspend-main',
  'fault:drop-next-response',
  'race:start',
  'strategy:set',
  'data:reset',
  'room:join',
];

/** Event channel pushed from the host to the dashboard. */
export const SNAPSHOT_CHANGED = 'snapshot:changed';

/** What the host implements; the IPC handler and the HTTP bridge both forward to it unchanged. */
export type UiBackend = {
  [C in UiChannel]: (args: UiChannels[C]['args']) => Promise<UiResult<UiChannels[C]['result']>>;
} & {
  /** Calls `listener` with each new snapshot; returns the unsubscribe function. */
  subscribe(listener: (snapshot: DashboardSnapshot) => void): () => void;
};

/** What the renderer calls: the same channels, whichever transport carries them. */
export interface UiClient {
  call<C extends UiChannel>(channel: C, args: UiChannels[C]['args']): Promise<UiResult<UiChannels[C]['result']>>;
  onSnapshot(listener: (snapshot: DashboardSnapshot) => void): () => void;
}

export interface DashboardSnapshot {
  atMs: number;
  strategy: Strategy;
  /** The main sync process is stopped (SIGSTOP), as an app suspended in the background. */
  mainSuspended: boolean;
  homeserverUrl: string;
  userId: string;
  deviceId: string;
  /** The data directory (store, embedded homeserver's database), for the reset control to name. */
  dataDir: string;
  /**
   * This run: since the app started on its data directory (or the directory was reset). The counters, the
   * notifications, the timeline, the latencies and the lanes are this run's; a message belongs to the run that
   * sent it.
   */
  run: { startedAtMs: number };
  token: {
    since: string | null;
    /** Newest first, bounded. */
    history: Array<{ since: string | null; atMs: number; process: string }>;
  };
  /**
   * `holder` is the process that holds the lease, or the last one that did when it was `released` (expiry 0:
   * given up on purpose, not lapsed). `expiresAtMs` is null when no process ever took it.
   */
  lease: { holder: string | null; generation: number; expiresAtMs: number | null; released: boolean };
  cursors: Array<{ consumer: string; seq: number }>;
  inbox: {
    total: number;
    /** Newest rows, bounded, newest first. */
    latest: InboxRowView[];
  };
  /** One lane per process of this run: the main sync process (each incarnation) and every notifier run. */
  lanes: ProcessLane[];
  /** This run's delivery figures. */
  counters: DeliveryCounters;
  /** This run's notifications, newest first, bounded (`encryption` counts all of them). */
  notifications: NotificationView[];
  /** What lost room keys cost this run: notifications and timeline events that could not be decrypted. */
  encryption: EncryptionCounters;
  /** This run's room timeline, newest last, bounded. */
  timeline: TimelineEntryView[];
  /**
   * What earlier runs left in this data directory, counted apart from this run's figures so an old run's losses
   * are not read as this one's; null when there is nothing from before.
   */
  earlierRuns: { counters: DeliveryCounters; encryption: EncryptionCounters } | null;
  /** This run's recent send-to-durable-commit latencies, oldest first, bounded. */
  latency: Array<{ atMs: number; latencyMs: number }>;
  /** The latest race run started from the dashboard; null when none was, or this host cannot run one. */
  race: RaceView | null;
  /** How big the shared store is and what compaction and retention removed from it. */
  storage: StorageView;
  /** The device's Olm figures over the store's life (the same as `todevice inbox` prints). */
  olm: OlmView;
}

/** What the device's Olm state did: keys published, to-device events decrypted or not (by reason), recoveries. */
export interface OlmView {
  oneTimeKeysUploaded: number;
  /** The server's last reported count of our one-time keys; null before the first report. */
  serverOneTimeKeys: number | null;
  decrypted: number;
  /** Undecryptable Olm to-device events by reason (`bad-mac`, `one-time-key-gone`, `unknown-device`, …). */
  failures: Record<string, number>;
  /** Rows kept for an unknown sender device and decrypted once `/keys/query` taught us the device. */
  decryptedAfterQuery: number;
  /** Sender devices whose messages failed with a session error. */
  wedgedDevices: number;
  /** Wedged sessions replaced (new session + `m.dummy`). */
  recoveries: number;
  /** Megolm sessions whose key the sender withheld (`m.room_key.withheld`). */
  withheldSessions: number;
}

/** The store's size and its compaction figures (the same as `todevice inbox` prints). */
export interface StorageView {
  /** The database file and its write-ahead log. */
  fileBytes: number;
  walBytes: number;
  /** Pages inside the file that hold nothing (incremental vacuum gives them back). */
  freePages: number;
  autoVacuum: 'none' | 'full' | 'incremental';
  rows: { inbox: number; handled: number; eventLog: number; notifications: number; timeline: number; roomKeys: number };
  /** Cumulative over the store's life. */
  removed: {
    inboxRows: number;
    /** Rows passed over for the notifier because they were older than its window (never for main). */
    notifierRowsSkipped: number;
    handledRows: number;
    eventLogRows: number;
    notifications: number;
    timelineRows: number;
    vacuumPagesFreed: number;
  };
  lastCompactionAtMs: number | null;
}

export interface RaceView {
  seed: number;
  running: boolean;
  /** One line on what the run is doing now (while running). */
  progress: string | null;
  /** One row per strategy, in the order they ran (when done). */
  rows: RaceRow[];
  /** The command that reproduces the run. */
  reproduce: string | null;
  error: string | null;
}

export interface RaceRow {
  strategy: Strategy;
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  kills: number;
  wastedRequests: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** Notifications shown as "unable to decrypt", and encrypted messages the main timeline cannot decrypt. */
  notificationsUnableToDecrypt: number;
  timelineUnableToDecrypt: number;
  /** Olm decryptions (a retry after `/keys/query` included). */
  olmDecrypted: number;
  /**
   * What the device's Olm state cost: Olm messages never decrypted, redelivered copies that failed again, wedged
   * sessions, one-time keys uploaded twice or lost (the race report's `olm` figures; 0 for a safe strategy).
   */
  olmHarm: { failed: number; undecryptableRedeliveries: number; wedgedSessions: number; oneTimeKeysUploadedTwice: number; oneTimeKeysLost: number };
  /** `explicit-cas`/`explicit-lease` must be safe; `legacy`/`explicit-naive` are expected to lose. */
  mustBeSafe: boolean;
  ok: boolean;
}

export interface InboxRowView {
  seq: number;
  type: string;
  sender: string;
  tag: string | null;
  fetchedBy: string;
  fetchedByPid: number;
  receivedAtMs: number;
}

export interface ProcessLane {
  name: string;
  kind: 'main' | 'notifier';
  pid: number;
  startedAtMs: number;
  endedAtMs: number | null;
  exitCode: number | null;
  signal: string | null;
  /** Stopped by SIGSTOP (the dashboard's "Suspend main"): alive, holding whatever it held, doing nothing. */
  suspended: boolean;
  /** Counts of what the lane did, for a compact display. */
  requests: number;
  commits: number;
  staleCommits: number;
  fencedCommits: number;
  /** Newest first, bounded. */
  events: Array<{ atMs: number; kind: string; detail: string }>;
}

/** Checked against the homeserver's own record of what it accepted and still holds. */
export interface DeliveryCounters {
  /** Tagged messages the homeserver accepted for the demo device. */
  sent: number;
  /** Distinct tags that reached the main consumer. */
  received: number;
  /** Accepted, no longer queued on the server, and never received: gone for good. */
  lost: number;
  /** Extra deliveries of a tag already received. */
  duplicated: number;
  /** Still queued on the homeserver (not acknowledged yet), and in no inbox row main has yet to handle. */
  pendingOnServer: number;
  /** Committed to the local inbox by one of our processes, not handled by the main consumer yet. */
  pendingLocally: number;
}

export interface NotificationView {
  atMs: number;
  pid: number;
  eventId: string;
  title: string;
  body: string;
  /** True when the to-device data the event needs (its room key) had not arrived; the body says so. */
  dataMissing: boolean;
  outcome: NotificationOutcome;
}

export interface EncryptionCounters {
  /** Megolm sessions any process of the device holds. */
  roomKeys: number;
  /** Notifications shown decrypted, and shown as "unable to decrypt" (from the store's notification log). */
  notificationsDecrypted: number;
  notificationsUnableToDecrypt: number;
  /** Notifications shown in any other way (plain, data missing, event not fetched). */
  notificationsOther: number;
  /** Encrypted timeline events the main process paged in. */
  timelineEncrypted: number;
  /** Not decrypted yet, within the grace period (`LATE_DECRYPTION_GRACE_MS`): their key may be on its way. */
  timelineAwaitingKey: number;
  /** Still undecryptable, past the grace period. */
  timelineUnableToDecrypt: number;
  /** Decrypted only after their key arrived late (past the grace period). */
  timelineLate: number;
}

export interface TimelineEntryView {
  eventId: string;
  sender: string;
  originServerTs: number;
  encrypted: boolean;
  /** The plaintext; null while it cannot be decrypted. */
  body: string | null;
  /** Not decrypted, first paged less than the grace period ago: shown as waiting for its key, not as a failure. */
  awaitingKey: boolean;
  /** Not decrypted because its sender withheld the key (`m.room_key.withheld`): the notice's code, else null. */
  withheldCode: string | null;
  late: boolean;
}
