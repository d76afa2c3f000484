/**
 * The UI backend: every channel of src/shared/ui-api.ts, implemented on the host's parts, plus the live snapshot
 * feed. Both transports (Electron IPC, HTTP + SSE) forward to `api` unchanged.
 *
 * Runtime: node. Channel arguments arrive from a renderer, so each is validated here and a bad one comes back as
 * a `UiResult` error; a failed homeserver call does too. The snapshot feed recomputes at most every
 * `SNAPSHOT_MIN_INTERVAL_MS` while someone listens and publishes only when something changed.
 */
import type { Strategy } from '../../engine/engine-types';
import { isStrategy } from '../../engine/engine-types';
import { MatrixClient } from '../../engine/matrix-client';
import type { AdminClient } from '../../homeserver/admin-client';
import type { NotifierMessage } from '../../shared/notifier-messages';
import { SNAPSHOT_MIN_INTERVAL_MS, type DashboardSnapshot, type NotificationView, type UiBackend, type UiResult } from '../../shared/ui-api';
import type { ClientStore } from '../../store/open-store';
import { startAmbientTraffic } from './ambient-traffic';
import { buildSnapshot, type LaneRecord } from './dashboard-snapshot';
import { createRaceControl, type RaceRunner } from './race-control';
import type { DemoWorld } from './demo-setup';
import { describeClientError } from '../../engine/describe-failure';
import { DemoTraffic, describeTrafficError } from './demo-traffic';
import type { NotifierRun, PushDispatch } from './push-dispatch';
import type { LaunchedProcess, SyncProcessLauncher } from './sync-process-launcher';

export interface AppBackendContext {
  store: ClientStore;
  world: DemoWorld;
  push: PushDispatch;
  strategy: Strategy;
  dataDir: string;
  homeserverUrl: string;
  admin: AdminClient | null;
  syncLauncher: SyncProcessLauncher;
  onNotification?: (notification: NotificationView) => void;
  /** Runs race-harness runs for the dashboard; absent where the harness cannot run. */
  raceRunner?: RaceRunner;
  /** Background demo traffic (`npm start`); off when absent. */
  ambientTraffic?: { intervalMs: number; messagesPerTick: number; pushEveryTicks: number };
  /**
   * Empties the data directory and starts the app again on it (src/main/host/app-host.ts owns the parts that
   * must be closed first); absent where the host cannot do that.
   */
  resetDataDir?: () => Promise<UiResult<{ dataDir: string; removed: string[] }>>;
  log: (line: string) => void;
}

export interface AppBackend {
  api: UiBackend;
  onNotifierMessage(run: NotifierRun, message: NotifierMessage): void;
  startMainSync(): Promise<void>;
  close(): Promise<void>;
}

const maxSendCount = 10_000;
const maxNotifications = 100;
const restartDelayMs = 1000;

const ok = <T>(value: T): UiResult<T> => ({ ok: true, value });
const fail = <T>(kind: string, message: string): UiResult<T> => ({ ok: false, error: { kind, message } });

export function createAppBackend(ctx: AppBackendContext): AppBackend {
  let strategy = ctx.strategy;
  let sentByHost = 0;
  let closing = false;
  // This run starts now: figures of messages sent before belong to earlier runs on this data directory. The
  // server only counts what it ever accepted, so its count now is the baseline this run's `sent` starts from.
  // Traffic waits for that reading, so no message of this run can fall into the baseline.
  const runStartedAtMs = Date.now();
  const acceptedBeforeRun: Promise<number> = ctx.admin
    ? ctx.admin.inspectDevice(ctx.world.desktop.userId, ctx.world.desktop.deviceId).then(
        (inspection) => inspection.accepted,
        (error: unknown) => {
          ctx.log(`could not read the homeserver's count at the start of this run (${String(error)}); earlier runs' messages count as this run's`);
          return 0;
        },
      )
    : Promise.resolve(0);
  const mainLanes: LaneRecord[] = [];
  const notifications: NotificationView[] = [];
  const traffic = new DemoTraffic(ctx.world.sender, { userId: ctx.world.desktop.userId, deviceId: ctx.world.desktop.deviceId });
  void traffic.prepare().then((prepared) => prepared.ok || ctx.log(`demo sender: ${describeTrafficError(prepared.error, { homeserverUrl: ctx.homeserverUrl })}`));
  let current: { process: LaunchedProcess; lane: LaneRecord; stopping: boolean; suspended: boolean } | undefined;

  const launchMainSync = (): void => {
    const process = ctx.syncLauncher.launch({ dataDir: ctx.dataDir, strategy });
    const lane: LaneRecord = { name: 'main', kind: 'main', pid: process.pid, startedAtMs: Date.now(), endedAtMs: null, exitCode: null, signal: null };
    mainLanes.push(lane);
    const incarnation = { process, lane, stopping: false, suspended: false };
    current = incarnation;
    ctx.log(`main sync process started (pid ${process.pid}, ${strategy})`);
    void process.exited.then(({ code, signal }) => {
      Object.assign(lane, { endedAtMs: Date.now(), exitCode: code, signal });
      ctx.log(`main sync process ${process.pid} exited (${signal ?? `code ${code}`})`);
      // A crash nobody asked for is restarted like a supervisor would, after a pause so a crash loop stays slow.
      if (!incarnation.stopping && !closing) setTimeout(() => current === incarnation && !closing && launchMainSync(), restartDelayMs);
    });
  };

  const stopMainSync = async (signal: NodeJS.Signals): Promise<number> => {
    const running = current;
    if (running === undefined) return -1;
    running.stopping = true;
    // A stopped process acts on SIGTERM only once it runs again.
    if (running.suspended) running.process.kill('SIGCONT');
    running.process.kill(signal);
    await running.process.exited;
    return running.process.pid;
  };

  const snapshot = async (): Promise<DashboardSnapshot> => {
    const baseline = await acceptedBeforeRun;
    const inspection = ctx.admin ? await ctx.admin.inspectDevice(ctx.world.desktop.userId, ctx.world.desktop.deviceId) : null;
    const notifierLanes: LaneRecord[] = ctx.push.runs().map((run) => ({
      name: 'notifier',
      kind: 'notifier',
      pid: run.pid,
      startedAtMs: run.startedAtMs,
      endedAtMs: run.endedAtMs,
      exitCode: run.exitCode,
      signal: run.signal,
    }));
    return buildSnapshot({
      store: ctx.store,
      account: ctx.world.desktop,
      strategy,
      mainSuspended: current?.suspended ?? false,
      homeserverUrl: ctx.homeserverUrl,
      dataDir: ctx.dataDir,
      runStartedAtMs,
      inspection,
      acceptedBeforeRun: baseline,
      sentByHost,
      lanes: [...mainLanes, ...notifierLanes],
      notifications,
      race: race.view(),
    });
  };

  const race = createRaceControl(ctx.raceRunner, ctx.log);
  const feed = createSnapshotFeed(snapshot, ctx.log);
  const ambient =
    ctx.ambientTraffic &&
    startAmbientTraffic(traffic, { ...ctx.ambientTraffic, roomId: ctx.world.roomId, ready: acceptedBeforeRun, onSent: (n) => (sentByHost += n), log: ctx.log });

  const api: UiBackend = {
    'snapshot:get': async () => ok(await snapshot()),
    'traffic:send-to-device': async ({ count }) => {
      if (!Number.isInteger(count) || count < 1 || count > maxSendCount) return fail('bad-argument', `count must be an integer from 1 to ${maxSendCount}`);
      await acceptedBeforeRun;
      const result = await traffic.sendToDevice(count);
      sentByHost += result.ok ? result.value.sent : result.error.sent;
      return result.ok ? ok(result.value) : fail(result.error.kind, `sent ${result.error.sent} of ${count}: ${describeTrafficError(result.error, { homeserverUrl: ctx.homeserverUrl })}`);
    },
    'traffic:send-room-message': async ({ text, withholdKey }) => {
      if (typeof text !== 'string' || text.length === 0 || text.length > 1000) return fail('bad-argument', 'text must be 1 to 1000 characters');
      if (withholdKey !== undefined && typeof withholdKey !== 'boolean') return fail('bad-argument', 'withholdKey must be true or false');
      await acceptedBeforeRun;
      const result = await traffic.sendRoomMessage(ctx.world.roomId, text, { withholdKey: withholdKey === true });
      if (result.ok && result.value.keyTag !== null) sentByHost += 1;
      return result.ok ? ok(result.value) : fail(result.error.kind, describeTrafficError(result.error, { homeserverUrl: ctx.homeserverUrl }));
    },
    'process:kill-notifier': async () => ok({ killedPid: ctx.push.killNewestNotifier() }),
    'process:restart-main': async () => {
      const oldPid = await stopMainSync('SIGKILL');
      launchMainSync();
      return ok({ oldPid, newPid: current?.process.pid ?? -1 });
    },
    'process:suspend-main': async ({ suspended }) => {
      if (typeof suspended !== 'boolean') return fail('bad-argument', 'suspended must be true or false');
      const running = current;
      if (running === undefined || running.lane.endedAtMs !== null) return fail('not-running', 'the main sync process is not running');
      running.process.kill(suspended ? 'SIGSTOP' : 'SIGCONT');
      running.suspended = suspended;
      running.lane.suspended = suspended;
      return ok({ pid: running.process.pid, suspended });
    },
    'fault:drop-next-response': async () => {
      if (ctx.admin === null) return fail('unavailable', 'fault injection needs the embedded homeserver');
      await ctx.admin.addFault(ctx.world.desktop.userId, ctx.world.desktop.deviceId, { kind: 'drop-response', count: 1 });
      return ok({ armed: true as const });
    },
    'race:start': async ({ seed }) => {
      const started = race.start(seed);
      return started.ok ? ok({ started: true as const }) : fail(started.kind, started.message);
    },
    'strategy:set': async ({ strategy: next }) => {
      if (typeof next !== 'string' || !isStrategy(next)) return fail('bad-argument', `unknown strategy ${String(next)}`);
      strategy = next;
      ctx.push.setStrategy(next);
      await stopMainSync('SIGTERM');
      launchMainSync();
      return ok({ strategy: next });
    },
    'data:reset': async ({ confirm }) => {
      if (confirm !== true) return fail('bad-argument', 'data:reset deletes the data directory: pass confirm: true once the user agreed');
      if (ctx.resetDataDir === undefined) return fail('unavailable', 'this host cannot reset its data directory; stop it and run `todevice reset`');
      if (race.view()?.running) return fail('busy', 'a race run is in progress; reset once it is done');
      return ctx.resetDataDir();
    },
    'room:join': async ({ room }) => {
      if (typeof room !== 'string' || !/^[!#][^:\s]+:\S+$/.test(room) || room.length > 255) {
        return fail('bad-argument', 'a room ID (!abc:server) or alias (#name:server)');
      }
      const client = new MatrixClient({ baseUrl: ctx.homeserverUrl, accessToken: ctx.world.desktop.accessToken });
      const joined = await client.joinRoom(room);
      return joined.ok ? ok(joined.value) : fail(joined.error.kind, describeClientError(joined.error, { homeserverUrl: ctx.homeserverUrl }));
    },
    subscribe: feed.subscribe,
  };

  return {
    api,
    onNotifierMessage: (run, message) => {
      if (message.kind === 'failed') ctx.log(`notifier ${run.pid} failed: ${message.error}`);
      if (message.kind !== 'notification') return;
      const { eventId, title, body, dataMissing, outcome } = message;
      const view: NotificationView = { atMs: Date.now(), pid: run.pid, eventId, title, body, dataMissing, outcome };
      notifications.unshift(view);
      notifications.splice(maxNotifications);
      ctx.onNotification?.(view);
    },
    startMainSync: async () => launchMainSync(),
    close: async () => {
      closing = true;
      ambient?.stop();
      traffic.close();
      feed.close();
      await stopMainSync('SIGTERM');
    },
  };
}

/** Recomputes the snapshot on a timer while anyone listens and publishes it when it changed. */
function createSnapshotFeed(compute: () => Promise<DashboardSnapshot>, log: (line: string) => void) {
  const listeners = new Set<(snapshot: DashboardSnapshot) => void>();
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const snapshot = await compute();
      const key = JSON.stringify({ ...snapshot, atMs: 0 });
      if (key !== last) {
        last = key;
        for (const listener of listeners) listener(snapshot);
      }
    } catch (error) {
      log(`snapshot failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      busy = false;
    }
  };
  return {
    subscribe(listener: (snapshot: DashboardSnapshot) => void): () => void {
      listeners.add(listener);
      last = '';
      timer ??= setInterval(() => void tick(), SNAPSHOT_MIN_INTERVAL_MS);
      void tick();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
    close(): void {
      listeners.clear();
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
