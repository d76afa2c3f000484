/**
 * The main process's long-lived work: the sync loop and the `main` consumer.
 *
 * Runtime: node (no Electron). The engine (src/engine) makes every batch durable before acknowledging it; this
 * module only drives it and then hands inbox rows to the `main` consumer, whose effect (a `handled` row) is
 * written in the same transaction as its cursor move. So a SIGKILL at any line here loses nothing: what was
 * committed stays in the inbox and is consumed after the restart, from the stored cursor.
 *
 * The consumer (main-consumer.ts) runs after each of our own commits, as soon as a cheap poll of the inbox's last seq shows rows
 * that another process appended (a notifier commits into the same inbox and tells us nothing: the database is
 * the only channel correctness relies on), and on a slower timer for everything else. Its effects
 * include storing room keys (src/engine/inbox-effects.ts); right after each consume pass the timeline pass
 * (timeline-sync.ts) pages the rooms and decrypts with the keys now stored, so a key that arrived through a
 * notifier is used as soon as `main` handles it.
 *
 * The store's maintenance (src/store/maintenance.ts: inbox compaction, the notifier's window, retention, vacuum)
 * runs here too, after the consume pass, because this process owns the `main` cursor that bounds compaction and
 * is the one that runs for months. It is bounded and rate-limited inside; a busy write lock skips it to the next
 * pass, like the consume pass itself.
 */
import { createProcessEngine } from '../../engine/create-engine';
import { describeClientError } from '../../engine/describe-failure';
import type { EngineEvent, RunSummary, Strategy } from '../../engine/engine-types';
import type { KillPoints } from '../../engine/kill-points';
import type { MatrixClient } from '../../engine/matrix-client';
import { wakeOnChange } from '../../engine/store-changes';
import type { SyncEngine } from '../../engine/sync-engine';
import { realSleep } from '../../engine/timing';
import type { OlmDevice } from '../../device/olm-device';
import { systemClock } from '../../shared/clock';
import type { Account } from '../../store/account';
import { lastInboxSeq } from '../../store/inbox';
import { StoreMaintenance } from '../../store/maintenance';
import type { ClientStore } from '../../store/open-store';
import { classifySqliteError } from '../../store/sqlite-errors';
import { consumeMain, consumeWhenFree, inboxWatchIntervalMs, MAIN_CONSUMER, whenFree } from './main-consumer';
import { TimelineSync } from './timeline-sync';

export { MAIN_CONSUMER };
const consumePollIntervalMs = 250;

export interface MainSyncOptions {
  store: ClientStore;
  account: Account;
  strategy: Strategy;
  onEvent?: (event: EngineEvent) => void;
  /** Engine tuning for tests (lease duration, long-poll timeout). */
  tuning?: Parameters<typeof createProcessEngine>[0]['tuning'];
  /** Page and decrypt the room timeline after each consume pass. Default true. */
  timeline?: boolean;
  /** Where problems that do not stop the loop are reported. Default: stderr. */
  log?: (line: string) => void;
  /**
   * The device's Olm state (src/device/olm-device.ts), opened before the loop starts: decryption at commit, key
   * upload, unknown sender devices, wedged sessions. Without it to-device events are stored as they arrive.
   */
  olm?: OlmDevice;
  /** The full consume pass's period (default 250 ms); tests lengthen it to see the inbox watch alone. */
  consumePassIntervalMs?: number;
  /** The inbox watch's own period (default `inboxWatchIntervalMs`); tests lengthen it to see the store-change hints alone. */
  inboxWatchIntervalMs?: number;
  /** This process's kill points, when it built them before (see `consumeWhileStarting`); else from the environment. */
  killPoints?: KillPoints;
}

export interface MainSync {
  engine: SyncEngine;
  /** Resolves when the loop ended: stopped, or failed after its bounded retries. */
  done: Promise<RunSummary>;
  stop(): Promise<void>;
}

export function startMainSync(options: MainSyncOptions): MainSync {
  const { store, strategy } = options;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const controller = new AbortController();
  let consumeQueued = false;
  let timeline: TimelineSync | undefined;
  const maintenance = new StoreMaintenance({ store, legacy: strategy === 'legacy' });
  const olm = options.olm;
  /** The inbox's last seq when the consumer last ran: rows after it are news. */
  let consumedUpToSeq = -1;
  const afterConsume = (): void => {
    whenFree(() => (consumedUpToSeq = lastInboxSeq(store)));
    consumeWhenFree(store, strategy, killPoints, log);
    if (olm !== undefined) maintainOlm(olm, client, log);
    whenFree(() => maintenance.step());
    void timeline?.pass().then(
      (pass) => {
        if (pass.error !== undefined) log(`main: timeline paging stopped for now: ${describeClientError(pass.error, { homeserverUrl: options.account.homeserverUrl })}`);
      },
      (error: unknown) => {
        if (classifySqliteError(error)?.kind !== 'db-busy') log(`main: timeline pass failed: ${error instanceof Error ? error.stack : String(error)}`);
      },
    );
  };
  const { engine, client, killPoints, storeChanges } = createProcessEngine({
    store,
    account: options.account,
    processName: MAIN_CONSUMER,
    strategy,
    onEvent: (event) => {
      options.onEvent?.(event);
      if (event.kind === 'commit' && !consumeQueued) {
        consumeQueued = true;
        setImmediate(() => {
          consumeQueued = false;
          afterConsume();
        });
      }
    },
    ...(options.tuning === undefined ? {} : { tuning: options.tuning }),
    ...(olm === undefined ? {} : { olm: olm.engineHooks() }),
    ...(options.killPoints === undefined ? {} : { killPoints: options.killPoints }),
  });
  if (olm !== undefined) {
    olm.leaseHolder = () => engine.leaseHolder;
    olm.killPoints = killPoints;
  }
  if (options.timeline !== false) {
    timeline = new TimelineSync({
      store,
      client,
      account: options.account,
      strategy,
      consumer: MAIN_CONSUMER,
      clock: systemClock,
      ...(olm === undefined ? {} : { pickleKey: olm.pickleKey }),
    });
  }
  afterConsume();
  const timer = setInterval(afterConsume, options.consumePassIntervalMs ?? consumePollIntervalMs);
  // Rows a notifier committed: looked for every `inboxWatchIntervalMs`, and soon after every commit another
  // process makes (store-changes.ts).
  const inboxSleep = wakeOnChange(realSleep, storeChanges);
  const watchInbox = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      await inboxSleep(options.inboxWatchIntervalMs ?? inboxWatchIntervalMs, controller.signal);
      if (!controller.signal.aborted) whenFree(() => lastInboxSeq(store) > consumedUpToSeq && afterConsume());
    }
  };
  const watching = watchInbox();
  const done = engine.run(controller.signal).finally(async () => {
    clearInterval(timer);
    controller.abort();
    await watching;
    storeChanges.close();
  });
  return {
    engine,
    done,
    stop: async () => {
      controller.abort();
      await done;
      consumeMain(store, strategy, killPoints, log);
      await olm?.idle.catch(() => undefined);
      await timeline?.pass().catch(() => undefined);
      timeline?.close();
    },
  };
}

/** Starts the Olm upkeep when it has work and is not running; a busy store leaves it to the next pass. */
function maintainOlm(olm: OlmDevice, client: MatrixClient, log: (line: string) => void): void {
  let due: boolean;
  try {
    due = olm.due;
  } catch (error) {
    if (classifySqliteError(error)?.kind !== 'db-busy') throw error;
    return;
  }
  if (!due) return;
  olm.maintain(client).catch((error: unknown) => {
    if (classifySqliteError(error)?.kind !== 'db-busy') log(`main: Olm upkeep failed: ${error instanceof Error ? error.message : String(error)}`);
  });
}
