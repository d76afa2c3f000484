/**
 * A stand-in `UiBackend` that produces plausible, changing dashboard snapshots without a homeserver, a store or
 * any process: for the HTTP bridge's unit tests and for working on the dashboard's looks
 * (`npx tsx test/support/serve-fake-dashboard.ts`).
 *
 * Runtime: node. It is a simulation of what the real host reports, not of how it works: a timer "delivers"
 * queued messages in batches, notifier runs are fake PIDs that finish after a while, and the `legacy` strategy
 * drops some messages so the dashboard's loss display can be seen. A room message "shares" a room key first
 * unless it is withheld; without its key the notification and the timeline say it cannot be decrypted, and a
 * key held back in the queue (delivered after its message) makes the timeline entry decrypt late. `configure`
 * sets what the real host would report in situations that take long to reach for real (figures left by earlier
 * runs, a released lease, a long homeserver URL, a long-lived process), so the dashboard's looks can be checked
 * against them. Nothing here is evidence about the protocol; the real host (src/main/host/app-host.ts) is what
 * the e2e suite drives.
 */
import { OLM_DECRYPTION_FAILURES } from '../../src/shared/olm-state';
import { LATE_DECRYPTION_GRACE_MS } from '../../src/shared/room-key-protocol';
import type {
  DashboardSnapshot,
  DeliveryCounters,
  EncryptionCounters,
  InboxRowView,
  NotificationView,
  OlmView,
  ProcessLane,
  StorageView,
  Strategy,
  TimelineEntryView,
  UiBackend,
  UiResult,
} from '../../src/shared/ui-api';

export interface FakeUiBackendOptions {
  /** How often the simulation moves; 0 disables the timer (tests then call `tick()`). Default 100. */
  tickMs?: number;
  /** Messages delivered per tick at most. Default 25. */
  batchLimit?: number;
}

/** What the simulated host reports beyond its own simulation. */
export interface FakeScenario {
  homeserverUrl: string;
  dataDir: string;
  earlierRuns: DashboardSnapshot['earlierRuns'];
  /** The lease was given up by this holder (expiry 0); null: the simulation's own lease. */
  leaseReleasedBy: string | null;
  /** Shifts the start of every lane this far into the past, to show long lifetimes. */
  laneAgeMs: number;
  /** Replaces figures of the simulation's own counters. */
  counters: Partial<DeliveryCounters>;
  race: DashboardSnapshot['race'];
}

export interface FakeUiBackend extends UiBackend {
  /** Advances the simulation by one step and publishes a snapshot. */
  tick(): void;
  /** Changes what the simulated host reports, and publishes a snapshot. */
  configure(patch: Partial<FakeScenario>): void;
  close(): void;
}

const historyLimit = 20;
const inboxLimit = 30;
const latencyLimit = 300;

export function createFakeUiBackend(options: FakeUiBackendOptions = {}): FakeUiBackend {
  let state = new FakeState(options.batchLimit ?? 25);
  const listeners = new Set<(snapshot: DashboardSnapshot) => void>();
  const publish = (): void => {
    const snapshot = state.snapshot();
    for (const listener of listeners) listener(snapshot);
  };
  const tickMs = options.tickMs ?? 100;
  const timer = tickMs > 0 ? setInterval(() => { state.step(); publish(); }, tickMs) : undefined;
  const done = <T>(value: T): Promise<UiResult<T>> => {
    publish();
    return Promise.resolve({ ok: true, value });
  };
  return {
    'snapshot:get': () => Promise.resolve({ ok: true, value: state.snapshot() }),
    'traffic:send-to-device': ({ count }) => {
      if (!Number.isInteger(count) || count <= 0 || count > 10_000) {
        return Promise.resolve({ ok: false, error: { kind: 'invalid-args', message: 'count must be 1..10000' } });
      }
      return done({ sent: state.send(count) });
    },
    'traffic:send-room-message': ({ text, withholdKey }) => done(state.push(text, withholdKey === true)),
    'process:kill-notifier': () => done({ killedPid: state.killNotifier() }),
    'process:restart-main': () => done(state.restartMain()),
    'race:start': () => Promise.resolve({ ok: false, error: { kind: 'unavailable', message: 'the simulated backend runs no races' } }),
    'process:suspend-main': ({ suspended }) => {
      state.mainSuspended = suspended;
      return done({ pid: 4242, suspended });
    },
    'fault:drop-next-response': () => {
      state.dropNext = true;
      return done({ armed: true as const });
    },
    'strategy:set': ({ strategy }) => {
      state.strategy = strategy;
      state.restartMain();
      return done({ strategy });
    },
    'data:reset': ({ confirm }) => {
      if (confirm !== true) return Promise.resolve({ ok: false, error: { kind: 'bad-argument', message: 'confirm must be true' } });
      const scenario = { ...state.scenario, earlierRuns: null, leaseReleasedBy: null, laneAgeMs: 0, counters: {} };
      state = new FakeState(options.batchLimit ?? 25);
      state.scenario = scenario;
      return done({ dataDir: scenario.dataDir, removed: ['client.db', 'homeserver.db'] });
    },
    'room:join': ({ room }) => {
      if (!/^[!#][^:\s]+:\S+$/.test(room)) return Promise.resolve({ ok: false, error: { kind: 'bad-argument', message: 'a room ID (!abc:server) or alias (#name:server)' } });
      return done({ roomId: room.startsWith('!') ? room : '!joined:localhost' });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    tick() {
      state.step();
      publish();
    },
    configure(patch) {
      Object.assign(state.scenario, patch);
      publish();
    },
    close() {
      if (timer) clearInterval(timer);
      listeners.clear();
    },
  };
}

interface QueuedMessage {
  tag: string;
  sentAtMs: number;
  /** The Megolm session this message shares, for a simulated room key. */
  sessionId?: string;
}

class FakeState {
  strategy: Strategy = 'explicit-lease';
  mainSuspended = false;
  dropNext = false;
  private readonly queue: QueuedMessage[] = [];
  private readonly lanes: ProcessLane[] = [];
  private readonly inbox: InboxRowView[] = [];
  private readonly notifications: NotificationView[] = [];
  private readonly latency: Array<{ atMs: number; latencyMs: number }> = [];
  private readonly tokenHistory: DashboardSnapshot['token']['history'] = [];
  scenario: FakeScenario = {
    homeserverUrl: 'http://127.0.0.1:0 (fake)',
    dataDir: '/tmp/todevice-fake',
    earlierRuns: null,
    leaseReleasedBy: null,
    laneAgeMs: 0,
    counters: {},
    race: null,
  };
  private readonly runStartedAtMs = Date.now();
  private readonly counters: DeliveryCounters = { sent: 0, received: 0, lost: 0, duplicated: 0, pendingOnServer: 0, pendingLocally: 0 };
  /** Every room message, oldest first; the snapshot shows the newest. */
  private readonly timeline: Array<TimelineEntryView & { sessionId: string; text: string }> = [];
  private readonly roomKeys = new Set<string>();
  private notificationOutcomes = { decrypted: 0, unableToDecrypt: 0 };
  private since: string | null = null;
  private seq = 0;
  private tagSeq = 0;
  private nextPid = 41_000;
  private generation = 1;

  constructor(private readonly batchLimit: number) {
    this.startLane('main');
  }

  send(count: number): number {
    const now = Date.now();
    for (let i = 0; i < count; i += 1) this.queue.push({ tag: `m${(this.tagSeq += 1)}`, sentAtMs: now });
    this.counters.sent += count;
    return count;
  }

  /**
   * A room message: its key goes into the to-device queue first (unless withheld), and the notifier "decrypts"
   * when the key is already delivered or still queued (it would sync it), like the real one.
   */
  push(text: string, withholdKey: boolean): { eventId: string; sessionId: string; keyTag: string | null } {
    const now = Date.now();
    const lane = this.startLane('notifier');
    const eventId = `$fake${lane.pid}:localhost`;
    const sessionId = `fakesession${lane.pid}`;
    let keyTag: string | null = null;
    if (!withholdKey) {
      keyTag = `m${(this.tagSeq += 1)}`;
      this.queue.push({ tag: keyTag, sentAtMs: now, sessionId });
      this.counters.sent += 1;
    }
    lane.events.unshift({ atMs: now, kind: 'started', detail: `push ${eventId}` });
    const decrypted = !withholdKey;
    if (decrypted) this.notificationOutcomes.decrypted += 1;
    else this.notificationOutcomes.unableToDecrypt += 1;
    this.notifications.unshift({
      atMs: now + 400,
      pid: lane.pid,
      eventId,
      title: '@sender:localhost in !demo:localhost',
      body: decrypted ? text : 'Unable to decrypt this message: its room key has not arrived.',
      dataMissing: !decrypted,
      outcome: decrypted ? 'decrypted' : 'unable-to-decrypt',
    });
    const readable = this.roomKeys.has(sessionId);
    this.timeline.push({ eventId, sender: '@sender:localhost', originServerTs: now, encrypted: true, body: readable ? text : null, awaitingKey: false, withheldCode: null, late: false, sessionId, text });
    return { eventId, sessionId, keyTag };
  }

  killNotifier(): number | null {
    const running = this.lanes.find((lane) => lane.kind === 'notifier' && lane.endedAtMs === null);
    if (!running) return null;
    this.endLane(running, null, 'SIGKILL');
    return running.pid;
  }

  restartMain(): { oldPid: number; newPid: number } {
    const old = this.lanes.find((lane) => lane.kind === 'main' && lane.endedAtMs === null);
    if (old) this.endLane(old, null, 'SIGKILL');
    return { oldPid: old?.pid ?? -1, newPid: this.startLane('main').pid };
  }

  step(): void {
    const now = Date.now();
    for (const lane of this.lanes) {
      if (lane.kind === 'notifier' && lane.endedAtMs === null && now - lane.startedAtMs > 1500) this.endLane(lane, 0, null);
    }
    const main = this.lanes.find((lane) => lane.kind === 'main' && lane.endedAtMs === null);
    if (!main || this.queue.length === 0) return this.updatePending();
    main.requests += 1;
    if (this.dropNext) {
      this.dropNext = false;
      main.events.unshift({ atMs: now, kind: 'response-lost', detail: 'retrying with the same since' });
      return this.updatePending();
    }
    this.commitBatch(main, this.queue.splice(0, this.batchLimit), now);
    this.updatePending();
  }

  private commitBatch(main: ProcessLane, batch: QueuedMessage[], now: number): void {
    for (const message of batch) {
      // The legacy strategy's implicit ack races with the notifier: a message now and then is acknowledged
      // by one process and handled by none.
      if (this.strategy === 'legacy' && this.seq % 17 === 5) {
        this.counters.lost += 1;
        this.seq += 1;
        continue;
      }
      this.seq += 1;
      this.counters.received += 1;
      if (message.sessionId !== undefined) this.receiveRoomKey(message.sessionId, now);
      this.inbox.unshift({
        seq: this.seq, type: message.sessionId === undefined ? 'org.todevice.test' : 'org.todevice.room_key', sender: '@sender:localhost', tag: message.tag,
        fetchedBy: main.name, fetchedByPid: main.pid, receivedAtMs: now,
      });
      this.latency.push({ atMs: now, latencyMs: now - message.sentAtMs + Math.random() * 8 });
    }
    main.commits += 1;
    main.events.unshift({ atMs: now, kind: 'commit', detail: `${batch.length} events` });
    this.since = `s${this.seq}_${this.generation}`;
    this.tokenHistory.unshift({ since: this.since, atMs: now, process: main.name });
    trim(this.inbox, inboxLimit);
    trim(this.tokenHistory, historyLimit);
    trim(main.events, historyLimit);
    if (this.latency.length > latencyLimit) this.latency.splice(0, this.latency.length - latencyLimit);
  }

  /** A key arrived: the timeline decrypts what waited for it, late when it was shown undecryptable first. */
  private receiveRoomKey(sessionId: string, nowMs: number): void {
    this.roomKeys.add(sessionId);
    for (const entry of this.timeline) {
      if (entry.sessionId !== sessionId || entry.body !== null) continue;
      entry.body = entry.text;
      entry.late = nowMs - entry.originServerTs > LATE_DECRYPTION_GRACE_MS;
    }
  }

  private encryption(nowMs: number): EncryptionCounters {
    const waiting = this.timeline.filter((entry) => entry.body === null);
    const awaiting = waiting.filter((entry) => nowMs - entry.originServerTs <= LATE_DECRYPTION_GRACE_MS).length;
    return {
      roomKeys: this.roomKeys.size,
      notificationsDecrypted: this.notificationOutcomes.decrypted,
      notificationsUnableToDecrypt: this.notificationOutcomes.unableToDecrypt,
      notificationsOther: 0,
      timelineEncrypted: this.timeline.length,
      timelineAwaitingKey: awaiting,
      timelineUnableToDecrypt: waiting.length - awaiting,
      timelineLate: this.timeline.filter((entry) => entry.late).length,
    };
  }

  snapshot(): DashboardSnapshot {
    const now = Date.now();
    const holder = this.lanes.find((lane) => lane.endedAtMs === null);
    const released = this.scenario.leaseReleasedBy;
    const age = this.scenario.laneAgeMs;
    return {
      atMs: now,
      strategy: this.strategy,
      mainSuspended: this.mainSuspended,
      race: this.scenario.race,
      homeserverUrl: this.scenario.homeserverUrl,
      userId: '@demo:localhost',
      deviceId: 'DEMODEVICE',
      dataDir: this.scenario.dataDir,
      run: { startedAtMs: this.runStartedAtMs },
      token: { since: this.since, history: [...this.tokenHistory] },
      lease:
        released !== null
          ? { holder: released, generation: this.generation, expiresAtMs: 0, released: true }
          : { holder: holder?.name ?? null, generation: this.generation, expiresAtMs: holder ? now + 4000 : null, released: false },
      cursors: [
        { consumer: 'main', seq: this.seq },
        { consumer: 'notifier', seq: Math.max(0, this.seq - 12) },
      ],
      inbox: { total: this.seq, latest: [...this.inbox] },
      lanes: this.lanes.map((lane) => ({
        ...lane,
        startedAtMs: lane.startedAtMs - age,
        suspended: lane.kind === 'main' && lane.endedAtMs === null && this.mainSuspended,
        events: [...lane.events],
      })),
      counters: { ...this.counters, ...this.scenario.counters },
      notifications: this.notifications.filter((n) => n.atMs <= now),
      encryption: this.encryption(now),
      timeline: this.timeline.slice(-historyLimit).map(({ eventId, sender, originServerTs, encrypted, body, late }) => ({
        eventId, sender, originServerTs, encrypted, body, late,
        awaitingKey: encrypted && body === null && now - originServerTs <= LATE_DECRYPTION_GRACE_MS,
        withheldCode: null,
      })),
      earlierRuns: this.scenario.earlierRuns,
      latency: [...this.latency],
      storage: this.storage(),
      olm: this.olm(),
    };
  }

  /** Olm figures as the real host reports them: every room key arrived Olm-encrypted and was decrypted once. */
  private olm(): OlmView {
    const failures = Object.fromEntries(OLM_DECRYPTION_FAILURES.map((reason) => [reason, 0]));
    return { oneTimeKeysUploaded: 50, serverOneTimeKeys: 50 - Math.min(this.roomKeys.size, 1), decrypted: this.roomKeys.size, failures, decryptedAfterQuery: Math.min(this.roomKeys.size, 1), wedgedDevices: 0, recoveries: 0, withheldSessions: 0 };
  }

  /** A store that compacts as the real one does: the newest 200 rows stay, the rest were removed. */
  private storage(): StorageView {
    const kept = Math.min(this.seq, 200);
    return {
      fileBytes: 98_304 + kept * 1024,
      walBytes: 32_992,
      freePages: 3,
      autoVacuum: 'incremental',
      rows: { inbox: kept, handled: this.seq, eventLog: Math.min(this.seq * 3, 5000), notifications: this.notifications.length, timeline: this.timeline.length, roomKeys: this.roomKeys.size },
      removed: { inboxRows: this.seq - kept, notifierRowsSkipped: 0, handledRows: 0, eventLogRows: Math.max(0, this.seq * 3 - 5000), notifications: 0, timelineRows: 0, vacuumPagesFreed: 0 },
      lastCompactionAtMs: this.seq > 0 ? Date.now() - 400 : null,
    };
  }

  private startLane(kind: ProcessLane['kind']): ProcessLane {
    const pid = (this.nextPid += 7);
    const count = this.lanes.filter((lane) => lane.kind === kind).length + 1;
    const lane: ProcessLane = {
      name: `${kind}#${count}`, kind, pid, startedAtMs: Date.now(), endedAtMs: null, exitCode: null, signal: null, suspended: false,
      requests: 0, commits: 0, staleCommits: 0, fencedCommits: 0, events: [],
    };
    this.generation += 1;
    this.lanes.unshift(lane);
    return lane;
  }

  private endLane(lane: ProcessLane, exitCode: number | null, signal: string | null): void {
    lane.endedAtMs = Date.now();
    lane.exitCode = exitCode;
    lane.signal = signal;
    if (lane.kind === 'notifier' && signal === null) lane.commits += 1;
    lane.events.unshift({ atMs: lane.endedAtMs, kind: signal ? 'killed' : 'exited', detail: signal ?? `code ${exitCode}` });
  }

  private updatePending(): void {
    this.counters.pendingOnServer = this.queue.length;
  }
}

function trim<T>(items: T[], limit: number): void {
  if (items.length > limit) items.length = limit;
}
