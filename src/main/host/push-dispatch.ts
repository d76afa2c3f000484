/**
 * Push handling of the main process: a push gateway on 127.0.0.1, the pusher that points the homeserver at it,
 * and one notifier process started per push, the way a phone starts its notification extension.
 *
 * Runtime: node (no Electron; the launcher is injected: a child process here, a utility process in the app).
 * Nothing here must be durable: a push that arrives while no notifier can run is still in the to-device queue and
 * in the room, and the main sync delivers it. The notifier list is kept bounded for the dashboard.
 */
import { describeClientError } from '../../engine/describe-failure';
import { MatrixClient } from '../../engine/matrix-client';
import type { NotifierMessage } from '../../shared/notifier-messages';
import type { Account } from '../../store/account';
import type { LaunchedNotifier, NotifierArgs, NotifierLauncher } from './notifier-launcher';
import { startPushGateway, type PushNotification } from './push-gateway';

export const PUSHER_APP_ID = 'org.todevice.desktop';
const maxTrackedNotifiers = 200;

export interface NotifierRun {
  pid: number;
  eventId: string;
  roomId: string;
  startedAtMs: number;
  endedAtMs: number | null;
  exitCode: number | null;
  signal: string | null;
  messages: NotifierMessage[];
  handle: LaunchedNotifier;
}

export interface PushDispatchOptions {
  account: Account;
  dataDir: string;
  strategy: string;
  launcher: NotifierLauncher;
  /** Extra environment for every notifier (kill points, lease tuning). */
  notifierEnv?: Record<string, string>;
  onNotifierMessage?: (run: NotifierRun, message: NotifierMessage) => void;
  onNotifierExit?: (run: NotifierRun) => void;
  log?: (line: string) => void;
}

export interface PushDispatch {
  notifyUrl: string;
  /** Newest last, bounded. */
  runs(): readonly NotifierRun[];
  /** SIGKILLs the newest notifier still running; returns its PID or null. */
  killNewestNotifier(): number | null;
  setStrategy(strategy: string): void;
  /** Stops the gateway and waits for running notifiers to finish (they are bounded). */
  close(): Promise<void>;
}

export async function startPushDispatch(options: PushDispatchOptions): Promise<PushDispatch> {
  const runs: NotifierRun[] = [];
  let strategy = options.strategy;
  const launch = (notification: PushNotification): void => {
    const args: NotifierArgs = {
      dataDir: options.dataDir,
      eventId: notification.event_id,
      roomId: notification.room_id,
      strategy,
      ...(options.notifierEnv === undefined ? {} : { env: options.notifierEnv }),
    };
    const handle = options.launcher.launch(args);
    const run: NotifierRun = { pid: handle.pid, eventId: args.eventId, roomId: args.roomId, startedAtMs: Date.now(), endedAtMs: null, exitCode: null, signal: null, messages: [], handle };
    runs.push(run);
    if (runs.length > maxTrackedNotifiers) runs.splice(0, runs.length - maxTrackedNotifiers);
    options.log?.(`push ${args.eventId}: started notifier pid ${run.pid}`);
    handle.onMessage((message) => {
      run.messages.push(message);
      options.onNotifierMessage?.(run, message);
    });
    void handle.exited.then(({ code, signal }) => {
      Object.assign(run, { endedAtMs: Date.now(), exitCode: code, signal });
      options.log?.(`notifier pid ${run.pid} exited (${signal ?? `code ${code}`})`);
      options.onNotifierExit?.(run);
    });
  };
  const gateway = await startPushGateway(launch);
  const pusher = await new MatrixClient({ baseUrl: options.account.homeserverUrl, accessToken: options.account.accessToken }).setPusher({
    kind: 'http',
    app_id: PUSHER_APP_ID,
    pushkey: options.account.deviceId,
    app_display_name: 'todevice',
    device_display_name: options.account.deviceId,
    lang: 'en',
    data: { url: gateway.notifyUrl },
  });
  if (!pusher.ok) {
    await gateway.close();
    throw new Error(`could not register the pusher: ${describeClientError(pusher.error, { homeserverUrl: options.account.homeserverUrl })}`);
  }
  return {
    notifyUrl: gateway.notifyUrl,
    runs: () => runs,
    killNewestNotifier: () => {
      const running = [...runs].reverse().find((run) => run.endedAtMs === null);
      if (!running) return null;
      running.handle.kill('SIGKILL');
      return running.pid;
    },
    setStrategy: (next) => {
      strategy = next;
    },
    close: async () => {
      await gateway.close();
      await Promise.all(runs.filter((run) => run.endedAtMs === null).map((run) => run.handle.exited));
    },
  };
}
