/**
 * The client sync engine: one device's to-device stream, shared by several processes through the store.
 *
 * Runtime: node (no Electron). Everything is injected (store, transport, clock, sleep, random, kill points), so
 * tests drive it step by step. The rules it keeps (DESIGN.md §4):
 * - The token is read from the database before EVERY request, never from a cached copy (F2), and the request
 *   sends `enabled`, `limit` and that `since` (MSC3885).
 * - A response becomes durable through `persistBatch` (one compare-and-set transaction for the explicit
 *   strategies). The new token goes out as `since` only after that returned, because the next request reads it
 *   from the database: a crash anywhere before the commit returned leaves the old token, and the server delivers
 *   the same events again (MSC3885: a retry with the same `since` returns them).
 * - `stale` (another process committed first) discards the batch and re-reads the token without backoff;
 *   `fenced` (lease lost) discards it and stops processing until the lease is retaken.
 * - `M_UNKNOWN_POS` drops `pos` (a new connection) and keeps `since` (MSC4538). 429/5xx/network errors back off
 *   (bounded, jittered, `retry_after_ms` honoured) and resend the same `since`.
 * - Each process uses its own `conn_id` (its process name), so two processes never share a connection.
 *
 * - While a request is in flight the engine only waits, so that is when it does its housekeeping: every
 *   `CHECKPOINT_EVERY_COMMITS` commits, a PASSIVE WAL checkpoint (src/store/wal-checkpoint.ts), which otherwise
 *   lands inside a commit. It runs after the request was written out, never before, so it delays no request.
 *
 * Entry points: `run(signal)` for the main process (long polls; with `explicit-lease` the long poll is
 * preemptible, see lease-keeper.ts), `syncUntilCaughtUp({leaseWaitMs})` for the notifier (bounded), and `step()`
 * for tests that interleave two engines phase by phase.
 */
import { TO_DEVICE_BATCH_CAP } from '../shared/wire';
import type { Result } from '../shared/result';
import type { Clock } from '../shared/clock';
import { appendProcessEvents } from '../store/event-log';
import { readLegacyToken } from '../store/legacy-token';
import { TO_DEVICE_LEASE_KEY } from '../store/lease';
import type { ClientStore } from '../store/open-store';
import { classifySqliteError, type DbError } from '../store/sqlite-errors';
import { readToken } from '../store/token';
import { checkpointPassive } from '../store/wal-checkpoint';
import { DEFAULT_BACKOFF, syncRetryDelayMs, type BackoffPolicy } from './backoff';
import type {
  CatchUpSummary,
  DrainTotals,
  EngineEvent,
  EngineEventKind,
  RunSummary,
  StepOutcome,
  Strategy,
  SyncEngineOptions,
} from './engine-types';
import { DEFAULT_STRATEGY } from './engine-types';
import { isRetryable, type MatrixClientError } from './http';
import { noKillPoints, type KillPoints } from './kill-points';
import { LeaseKeeper } from './lease-keeper';
import type { SyncTransport } from './matrix-client';
import { carriesAlsoInCommit, persistBatch, type ReceivedBatch } from './persist-batch';
import type { E2eeReport, ToDeviceBatch } from './sync-responses';
import { runLeaseWatch } from './lease-watch';
import { SinceEchoCheck, type SinceNotIssuedError } from './since-echo-check';
import { wakeOnChange } from './store-changes';
import type { Sleep } from './timing';

export class SyncEngine {
  readonly strategy: Strategy;
  readonly processName: string;
  readonly pid: number;
  readonly limit: number;
  private readonly store: ClientStore;
  private readonly client: SyncTransport;
  /** Sliding sync only: notices a server that echoes a `since` it never issued (since-echo-check.ts). */
  private readonly sinceEchoCheck: SinceEchoCheck | undefined;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  /** `sleep` for the lease's polls: ended early by another process's commit when `storeChanges` is given. */
  private readonly pollSleep: Sleep;
  private readonly random: () => number;
  private readonly killPoints: KillPoints;
  private readonly backoff: BackoffPolicy;
  private readonly longPollTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly lease: LeaseKeeper | undefined;
  private readonly options: SyncEngineOptions;
  private pending: ReceivedBatch | undefined;
  /** The e2ee fields of the pending batch's response, handed to `onE2ee` once it is committed. */
  private pendingE2ee: E2eeReport | undefined;
  /** Whether the last `unchanged` answer carried device list changes (the server answered for those). */
  private unchangedForKeyNews = false;
  private pos: string | undefined;
  private failures = 0;
  private wakeWatch: (() => void) | undefined;
  /** Routine per-batch events not yet in the event log (see `emit`). */
  private unlogged: EngineEvent[] = [];
  /** Commits since this engine last checkpointed the WAL (see `whileRequestInFlight`). */
  private commitsSinceCheckpoint = 0;

  constructor(options: SyncEngineOptions) {
    this.options = options;
    this.strategy = options.strategy ?? DEFAULT_STRATEGY;
    this.processName = options.processName;
    this.pid = options.pid;
    this.limit = options.limit ?? 100;
    if (!Number.isInteger(this.limit) || this.limit < 1) {
      throw new Error(`limit must be a positive integer (MSC4538), got ${this.limit}`);
    }
    this.store = options.store;
    this.client = options.client;
    this.sinceEchoCheck =
      options.strategy === 'legacy'
        ? undefined
        : new SinceEchoCheck(options.client, options.processName, this.limit, options.clock, options.sinceEchoCheckIntervalMs);
    this.clock = options.clock;
    this.sleep = options.sleep;
    this.pollSleep = wakeOnChange(options.sleep, options.storeChanges);
    this.random = options.random;
    this.killPoints = options.killPoints ?? noKillPoints;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.longPollTimeoutMs = options.longPollTimeoutMs ?? 30_000;
    this.pollIntervalMs = options.leasePollIntervalMs ?? DEFAULT_LEASE_POLL_INTERVAL_MS;
    this.lease = this.strategy === 'explicit-lease' ? this.makeLeaseKeeper(options) : undefined;
  }

  private makeLeaseKeeper(options: SyncEngineOptions): LeaseKeeper {
    return new LeaseKeeper({
      store: options.store,
      clock: options.clock,
      sleep: this.pollSleep,
      key: options.leaseKey ?? TO_DEVICE_LEASE_KEY,
      holder: `${options.processName}:${options.pid}`,
      durationMs: options.leaseDurationMs ?? 3000,
      pollIntervalMs: this.pollIntervalMs,
      ...(options.leaseHolderGone === undefined ? {} : { holderGone: options.leaseHolderGone }),
      onChange: (kind, detail) => {
        this.emit(kind, detail);
        if (kind === 'lease-acquired') this.killPoints.hit('after-lease-acquired');
      },
    });
  }

  /** The lease holder name this engine uses (`<processName>:<pid>`), or undefined without a lease. */
  get leaseHolder(): string | undefined {
    return this.lease?.holder;
  }

  /**
   * Whether another live process holds the lease now (lease-keeper.ts, `heldByAnotherLiveProcess`): false
   * without a lease, and false when the store is busy (the caller then syncs as it would otherwise).
   */
  leaseHeldByAnotherLiveProcess(): boolean {
    return this.otherLiveLeaseHolder() !== undefined;
  }

  /** That other live holder's `process:pid` name, or undefined (also when the store could not be read). */
  otherLiveLeaseHolder(): string | undefined {
    const lease = this.lease;
    if (lease === undefined) return undefined;
    const held = this.guardDb(() => lease.otherLiveHolder());
    return held.ok ? held.value : undefined;
  }

  /** An IPC hint that someone may want the lease: the long poll checks the database now instead of later. */
  hint(): void {
    this.wakeWatch?.();
  }

  /**
   * One phase: a request (lease, token read, HTTP) when no batch is pending, else the commit of the pending
   * batch. Tests interleave two engines with it; `run` and `syncUntilCaughtUp` are loops over it.
   */
  async step(options: { timeoutMs?: number; signal?: AbortSignal; preemptible?: boolean } = {}): Promise<StepOutcome> {
    if (this.pending !== undefined) return this.commitPending();
    return this.request(options.timeoutMs ?? 0, options.signal, options.preemptible ?? false);
  }

  private async request(timeoutMs: number, signal: AbortSignal | undefined, preemptible: boolean): Promise<StepOutcome> {
    const prepared = this.guardDb(() => this.prepareRequest());
    if (!prepared.ok) return this.failure(prepared.error);
    if (prepared.value.kind === 'lease-busy') return prepared.value;
    const { since, generation } = prepared.value;
    const controller = new AbortController();
    const forwardAbort = (): void => controller.abort();
    signal?.addEventListener('abort', forwardAbort, { once: true });
    if (signal?.aborted === true) controller.abort();
    const watch =
      preemptible && this.lease !== undefined
        ? runLeaseWatch({
            lease: this.lease,
            controller,
            sleep: this.pollSleep,
            pollIntervalMs: this.pollIntervalMs,
            setWake: (wake) => (this.wakeWatch = wake),
          })
        : undefined;
    this.emit('request', { since, pos: this.pos ?? null, timeoutMs, generation: generation ?? null });
    try {
      const result = await this.send(since, timeoutMs, controller.signal);
      return this.onResponse(result, since, generation, watch?.stop());
    } finally {
      watch?.stop();
      signal?.removeEventListener('abort', forwardAbort);
    }
  }

  private prepareRequest():
    | { kind: 'ready'; since: string | null; generation: number | undefined }
    | { kind: 'lease-busy'; holder: string; expiresAtMs: number } {
    let generation: number | undefined;
    if (this.lease !== undefined) {
      const lease = this.lease.holdOrTake();
      if (!lease.acquired) return { kind: 'lease-busy', holder: lease.holder, expiresAtMs: lease.expiresAtMs };
      generation = lease.generation;
    }
    const since = this.strategy === 'legacy' ? readLegacyToken(this.store, this.processName) : readToken(this.store).since;
    return { kind: 'ready', since, generation };
  }

  private async send(
    since: string | null,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<Result<ToDeviceBatch & { pos?: string }, MatrixClientError>> {
    const onRequestSent = (): void => this.killPoints.hit('after-request-sent');
    const onRequestWritten = (): void => this.whileRequestInFlight(timeoutMs > 0);
    const sinceField = since === null ? {} : { since };
    if (this.strategy === 'legacy') return this.client.classicSync({ ...sinceField, timeoutMs, signal, onRequestSent, onRequestWritten });
    return this.client.slidingSyncToDevice({
      connId: this.processName,
      ...(this.pos === undefined ? {} : { pos: this.pos }),
      timeoutMs,
      toDevice: { enabled: true, limit: this.limit, ...sinceField },
      ...(this.options.e2ee === true ? { e2ee: true } : {}),
      signal,
      onRequestSent,
      onRequestWritten,
    });
  }

  /**
   * Housekeeping while a request is in flight (the transport calls it once the request is written out): before
   * a long poll, which may wait for seconds, the buffered event log; and the WAL checkpoint every
   * `CHECKPOINT_EVERY_COMMITS` commits. The server answers in the meantime; its answer waits in the socket until
   * this returns. Done before the request instead, the event log's fsync delayed every long poll, and with it
   * the next message. A busy or failing checkpoint is left to the next request (or to SQLite's own automatic
   * checkpoint): nothing durable depends on it.
   */
  private whileRequestInFlight(longPoll: boolean): void {
    if (longPoll) this.flushEventLog();
    if (this.commitsSinceCheckpoint < CHECKPOINT_EVERY_COMMITS) return;
    this.commitsSinceCheckpoint = 0;
    this.guardDb(() => checkpointPassive(this.store));
  }

  private onResponse(
    result: Result<ToDeviceBatch & { pos?: string }, MatrixClientError>,
    since: string | null,
    generation: number | undefined,
    watchVerdict: 'preempted' | 'lease-lost' | undefined,
  ): StepOutcome {
    if (result.ok) {
      const batch = result.value;
      if (this.strategy !== 'legacy') this.pos = batch.pos;
      this.failures = 0;
      this.pending = { since, nextBatch: batch.nextBatch, events: batch.events, generation };
      this.pendingE2ee = batch.e2ee;
      this.emit('response', { since, nextBatch: batch.nextBatch, eventCount: batch.events.length });
      if (batch.malformedEvents > 0 || batch.events.length > this.limit) {
        this.emit('anomaly', { malformedEvents: batch.malformedEvents, eventCount: batch.events.length, limit: this.limit });
      }
      return { kind: 'received', since, nextBatch: batch.nextBatch, eventCount: batch.events.length };
    }
    const error = result.error;
    if (error.kind === 'aborted') {
      if (watchVerdict === 'preempted') {
        this.emit('preempted', {});
        return { kind: 'preempted' };
      }
      if (watchVerdict === 'lease-lost') return { kind: 'fenced' };
      return { kind: 'aborted' };
    }
    if (error.kind === 'unknown-pos') {
      this.pos = undefined;
      this.emit('unknown-pos', { since, message: error.message });
      this.failures += 1;
      return this.failures > this.backoff.maxRetries ? { kind: 'failed', error } : { kind: 'unknown-pos' };
    }
    return this.failure(error);
  }

  private failure(error: MatrixClientError | DbError): StepOutcome {
    const retryable = error.kind === 'db-busy' || ((error.kind === 'network' || error.kind === 'http') && isRetryable(error));
    this.failures += 1;
    if (!retryable || this.failures > this.backoff.maxRetries) {
      this.emit('error', { error: describe(error), retryable, attempt: this.failures });
      return { kind: 'failed', error };
    }
    const retryAfterMs = error.kind === 'http' ? error.retryAfterMs : undefined;
    const transient = error.kind === 'network' || (error.kind === 'http' && error.status >= 500);
    const delayMs = syncRetryDelayMs({ attempt: this.failures - 1, policy: this.backoff, random: this.random, transient, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    this.emit('error', { error: describe(error), retryable, attempt: this.failures, delayMs });
    return { kind: 'retry', error, delayMs, attempt: this.failures };
  }

  private commitPending(): StepOutcome {
    const batch = this.pending;
    if (batch === undefined) throw new Error('commitPending without a pending batch');
    this.pending = undefined;
    const e2ee = this.pendingE2ee;
    this.pendingE2ee = undefined;
    this.killPoints.hit('after-response-before-commit');
    if (batch.events.length === 0 && batch.nextBatch === batch.since) {
      this.emit('unchanged', { since: batch.since });
      this.reportE2ee(e2ee);
      // A long poll the server ended for key news (device lists) is not an echo of a since it never issued.
      this.unchangedForKeyNews = (e2ee?.changedUsers.length ?? 0) > 0;
      return { kind: 'unchanged', since: batch.since };
    }
    const holder = this.lease?.holder;
    const fence =
      holder !== undefined && batch.generation !== undefined
        ? { key: this.options.leaseKey ?? TO_DEVICE_LEASE_KEY, holder, generation: batch.generation }
        : undefined;
    const logged = this.eventsForCommit();
    const context = {
      store: this.store,
      strategy: this.strategy,
      processName: this.processName,
      pid: this.pid,
      nowMs: this.clock.nowMs(),
      killPoints: this.killPoints,
      fence,
      transformEvents: this.options.transformEvents,
      alsoInCommit: logged === undefined ? undefined : () => appendProcessEvents(this.store, logged),
    };
    const persisted = this.guardDb(() => persistBatch(context, batch));
    // Events the commit did not carry (refused, or rolled back) wait for the next write of the log.
    if (logged !== undefined && !(persisted.ok && persisted.value.kind === 'committed')) this.unlogged = [...logged, ...this.unlogged];
    if (!persisted.ok) return this.failure(persisted.error);
    const result = persisted.value;
    if (result.kind === 'stale') {
      this.emit('stale', { since: batch.since, currentSince: result.currentSince, eventCount: batch.events.length });
      return { kind: 'stale' };
    }
    if (result.kind === 'fenced') {
      this.emit('fenced', { since: batch.since, generation: batch.generation ?? null, eventCount: batch.events.length });
      this.lease?.forget('fenced at commit');
      return { kind: 'fenced' };
    }
    const committed = {
      kind: 'committed' as const,
      nextBatch: batch.nextBatch,
      eventCount: batch.events.length,
      firstSeq: result.firstSeq,
      lastSeq: result.lastSeq,
    };
    this.commitsSinceCheckpoint += 1;
    const afterCommit = this.options.afterCommit;
    if (afterCommit !== undefined) this.guardDb(() => afterCommit(this.clock.nowMs()));
    this.reportE2ee(e2ee);
    this.emit('commit', { since: batch.since, ...committed, generation: batch.generation ?? null, holder: holder ?? null });
    this.killPoints.hit('after-commit-before-ack');
    return committed;
  }

  /** Hands a committed response's e2ee fields on; a busy store skips them (the next response reports again). */
  private reportE2ee(report: E2eeReport | undefined): void {
    const onE2ee = this.options.onE2ee;
    if (report !== undefined && onE2ee !== undefined) this.guardDb(() => onE2ee(report, this.clock.nowMs()));
  }

  /**
   * The main process's loop: long polls until `signal` aborts. Bounded by the signal and by `backoff.maxRetries`
   * consecutive failures, after which it returns `failed` for the supervisor to report or restart. On every way
   * out (stopped, failed, or a thrown programmer error) it releases the lease, so no other process waits for it
   * to lapse, and emits `stopped` with the reason.
   */
  async run(signal: AbortSignal): Promise<RunSummary> {
    let summary: RunSummary | undefined;
    try {
      while (!signal.aborted && summary === undefined) {
        const turn = this.lease === undefined ? 'long-poll' : await this.waitForLeaseTurn(signal);
        if (turn === undefined) break;
        // A catch-up turn (others still want the lease) is one short request, like a notifier's, not a long poll.
        const outcome = turn === 'long-poll' ? await this.cycle(this.longPollTimeoutMs, signal, true) : await this.cycle(0, signal, false);
        const notIssued = outcome.kind === 'unchanged' && !this.unchangedForKeyNews ? await this.checkEchoedSince(outcome.since, signal) : undefined;
        if (outcome.kind === 'failed') summary = { kind: 'failed', error: outcome.error };
        else if (notIssued !== undefined) summary = { kind: 'failed', error: notIssued };
        else await this.afterCycle(outcome, signal);
      }
      summary ??= { kind: 'stopped' };
      return summary;
    } finally {
      const reason = summary?.kind ?? 'threw';
      this.guardDb(() => this.lease?.release(reason));
      this.emit('stopped', { reason });
      this.flushEventLog();
    }
  }

  /** After an empty answer that echoed `since`: whether the server cannot have issued it (since-echo-check.ts). */
  private async checkEchoedSince(since: string | null, signal: AbortSignal): Promise<SinceNotIssuedError | undefined> {
    const check = this.sinceEchoCheck;
    if (check === undefined || !check.due(since) || signal.aborted) return undefined;
    const verdict = await check.probe(since, signal);
    if (verdict !== undefined) this.emit('anomaly', { sinceNotIssued: verdict.message });
    return verdict;
  }

  /** A request followed at once by its commit when it returned a batch. */
  private async cycle(timeoutMs: number, signal: AbortSignal | undefined, preemptible: boolean): Promise<StepOutcome> {
    const outcome = await this.request(timeoutMs, signal, preemptible);
    return outcome.kind === 'received' ? this.commitPending() : outcome;
  }

  private async afterCycle(outcome: StepOutcome, signal: AbortSignal): Promise<void> {
    if (outcome.kind === 'retry') {
      // A holder that cannot sync for the next `delayMs` gives the lease up first, so a waiting notifier syncs
      // now instead of waiting out our backoff; `waitForLeaseTurn` takes it back afterwards (same generation
      // when nobody took it in between, so nothing is reloaded). Not after a busy database: releasing is a write
      // that would wait out the busy timeout again, and nobody else can commit meanwhile anyway.
      if (this.lease?.heldGeneration !== undefined && outcome.error.kind !== 'db-busy') this.guardDb(() => this.lease?.release('backing off'));
      await this.sleep(outcome.delayMs, signal);
    }
    if (outcome.kind === 'lease-busy') await this.pollSleep(this.pollIntervalMs, signal);
    if (outcome.kind === 'preempted' && this.lease !== undefined) {
      this.guardDb(() => this.lease?.release('preempted by a waiter'));
      await this.guardAsyncDb(() => this.lease?.yieldToWaiter(signal, LEASE_DEFER_MS));
    }
  }

  /**
   * Waits (bounded by `signal`) until this process holds the lease: for a long poll once nobody else wants it,
   * or, after deferring `LEASE_DEFER_MS` to other processes that keep wanting it, for one catch-up request.
   * Undefined when `signal` aborted.
   *
   * Why the bound: deferring for as long as anyone wants the lease starved the main process whenever notifiers
   * kept coming (a push every few tens of milliseconds in the kill campaign): every message then waited for the
   * next notifier to start, queue and sync, seconds under load, while main, the process that handles them,
   * never synced. With the bound, main takes a turn in the queue like a notifier: one short request whenever
   * the lease is free at the end of its deferral. A notifier waits at most one such request longer.
   *
   * While another live process holds the lease (and this one does not believe it holds it), each poll only
   * reads it: the upsert that `take()` would try is refused anyway, and it is a write, which waits for the
   * write lock while the holder commits a batch, in SQLite's busy handler (sleeps of 1, 2, 5, 10 ... ms), this
   * event loop with it. In one contention drain of 20,000 messages (loaded machine) the refused upserts that
   * took over 5 ms blocked main for 217 ms in all; reading first, 40 and 74 ms in two drains. A stale read only
   * defers the take to the next poll, and a holder that believes it holds the lease goes through `holdOrTake`
   * as before.
   */
  private async waitForLeaseTurn(signal: AbortSignal): Promise<'long-poll' | 'catch-up' | undefined> {
    const lease = this.lease;
    if (lease === undefined) return 'long-poll';
    const deferUntilMs = this.clock.nowMs() + LEASE_DEFER_MS;
    const takeUnlessHeldElsewhere = (): boolean => !(lease.heldGeneration === undefined && lease.heldByAnotherLiveProcess()) && lease.holdOrTake().acquired;
    while (!signal.aborted) {
      const turn = this.guardDb((): 'long-poll' | 'catch-up' | undefined => {
        if (!lease.othersWant()) return takeUnlessHeldElsewhere() ? 'long-poll' : undefined;
        if (this.clock.nowMs() >= deferUntilMs) return takeUnlessHeldElsewhere() ? 'catch-up' : undefined;
        if (lease.heldGeneration !== undefined) lease.release('a waiter wants the lease');
        return undefined;
      });
      if (turn.ok && turn.value !== undefined) return turn.value;
      await this.pollSleep(this.pollIntervalMs, signal);
    }
    return undefined;
  }

  /**
   * The notifier's entry: take the lease within `leaseWaitMs` (announcing the wish so a long-polling holder gives
   * way), sync with `timeout=0` until a batch comes back shorter than the limit, release, and say what happened.
   */
  async syncUntilCaughtUp(options: {
    leaseWaitMs: number;
    maxBatches?: number;
    signal?: AbortSignal;
    /** Asked while waiting for the lease: true ends the wait (`lease-busy`), the caller no longer needs to sync. */
    giveUpWaitingWhen?: () => boolean;
    /** The lease is wanted at once but taken only once this settled (the caller is ready): `acquireWithin`. */
    takeLeaseNotBefore?: Promise<unknown>;
  }): Promise<CatchUpSummary> {
    if (this.lease !== undefined) {
      this.emit('lease-wanted', { leaseWaitMs: options.leaseWaitMs });
      const leaseKeeper = this.lease;
      const acquired = await this.guardAsyncDb(() => leaseKeeper.acquireWithin(options.leaseWaitMs, options.signal, options.giveUpWaitingWhen, options.takeLeaseNotBefore));
      if (!acquired.ok) return { kind: 'failed', error: acquired.error, batches: 0, events: 0, stale: 0, firstSeq: null, lastSeq: null };
      const lease = acquired.value;
      if (lease === undefined) throw new Error('acquireWithin returned nothing');
      if (!lease.acquired) {
        this.emit('lease-busy', { holder: lease.holder, expiresAtMs: lease.expiresAtMs });
        return { kind: 'lease-busy', holder: lease.holder, expiresAtMs: lease.expiresAtMs };
      }
    }
    const summary = await this.drain(options.maxBatches ?? 1000, options.signal, options.leaseWaitMs);
    this.guardDb(() => this.lease?.release(summary.kind));
    this.emit('caught-up', { ...summary });
    this.flushEventLog();
    return summary;
  }

  private async drain(maxBatches: number, signal: AbortSignal | undefined, leaseWaitMs: number): Promise<CatchUpSummary> {
    const totals: DrainTotals = { batches: 0, events: 0, stale: 0, firstSeq: null, lastSeq: null };
    const shortBatch = Math.min(this.limit, TO_DEVICE_BATCH_CAP);
    for (let attempt = 0; attempt < maxBatches; attempt += 1) {
      const outcome = await this.cycle(0, signal, false);
      switch (outcome.kind) {
        case 'committed':
          totals.batches += 1;
          totals.events += outcome.eventCount;
          totals.firstSeq ??= outcome.firstSeq;
          totals.lastSeq = outcome.lastSeq ?? totals.lastSeq;
          if (outcome.eventCount < shortBatch) return { kind: 'caught-up', ...totals };
          break;
        case 'unchanged':
          return { kind: 'caught-up', ...totals };
        case 'stale':
          totals.stale += 1;
          break;
        case 'retry': {
          const back = await this.backOffHoldingNoLease(outcome, signal, leaseWaitMs);
          if (back !== undefined) return back.kind === 'failed' ? { ...back, ...totals } : back;
          break;
        }
        case 'fenced':
          return { kind: 'fenced', ...totals };
        case 'failed':
          return { kind: 'failed', error: outcome.error, ...totals };
        case 'lease-busy':
          return { kind: 'lease-busy', holder: outcome.holder, expiresAtMs: outcome.expiresAtMs };
        case 'aborted':
        case 'preempted':
          return { kind: 'aborted', ...totals };
        case 'unknown-pos':
        case 'received':
          break;
      }
    }
    return { kind: 'batch-limit', ...totals };
  }

  /**
   * The notifier's backoff under the lease: release, sleep, take the lease again within `leaseWaitMs`
   * (announcing the wish, so main gives way). Why: server faults are consumed by whichever process makes the
   * next requests, and under the lease that is the holder alone, so one notifier met a run of 429s and dropped
   * responses, backed off for seconds (its consecutive failures grow the delay) and kept the lease all along,
   * while main and every other notifier waited (seed 3 of the race: 6 s without a commit). Undefined when the
   * lease is held again (or there is none, or the failure was a busy database, where releasing would wait out
   * the busy timeout again); else how the drain ends.
   */
  private async backOffHoldingNoLease(
    outcome: Extract<StepOutcome, { kind: 'retry' }>,
    signal: AbortSignal | undefined,
    leaseWaitMs: number,
  ): Promise<{ kind: 'lease-busy'; holder: string; expiresAtMs: number } | { kind: 'failed'; error: DbError } | undefined> {
    const lease = this.lease;
    if (lease?.heldGeneration === undefined || outcome.error.kind === 'db-busy') {
      await this.sleep(outcome.delayMs, signal);
      return undefined;
    }
    this.guardDb(() => lease.release('backing off'));
    await this.sleep(outcome.delayMs, signal);
    const again = await this.guardAsyncDb(() => lease.acquireWithin(leaseWaitMs, signal));
    if (!again.ok) return { kind: 'failed', error: again.error };
    const taken = again.value;
    if (taken === undefined || taken.acquired) return undefined;
    this.emit('lease-busy', { holder: taken.holder, expiresAtMs: taken.expiresAtMs });
    return { kind: 'lease-busy', holder: taken.holder, expiresAtMs: taken.expiresAtMs };
  }

  /** Runs a store operation, turning an SQLite error (busy, full, …) into a value; anything else propagates. */
  private guardDb<T>(operation: () => T): Result<T, DbError> {
    try {
      return { ok: true, value: operation() };
    } catch (error) {
      const dbError = classifySqliteError(error);
      if (dbError === undefined) throw error;
      return { ok: false, error: dbError };
    }
  }

  private async guardAsyncDb<T>(operation: () => Promise<T> | undefined): Promise<Result<T | undefined, DbError>> {
    try {
      return { ok: true, value: await operation() };
    } catch (error) {
      const dbError = classifySqliteError(error);
      if (dbError === undefined) throw error;
      return { ok: false, error: dbError };
    }
  }

  /**
   * Records an engine event: `onEvent` at once, the store's event log in batches. The routine per-batch kinds
   * (`request`, `response`, `commit`, `unchanged`) wait in memory until `EVENT_LOG_BATCH` of them gathered, any
   * other kind is emitted, a long poll has been sent, or a drain or run ends; then all go in one
   * transaction, in order. Writing each on its own cost three extra durable transactions per batch (three
   * fsyncs at FULL), which halved the drain rate. With the explicit strategies, a full buffer is written in
   * the next batch's commit instead (`eventsForCommit`): a transaction of its own was one more fsync every
   * 21 batches of a drain. They write one of their own only past `EVENT_LOG_BOUND` events (no commit came, as
   * in a run of empty answers). The log is diagnostic only; a crash loses at most the routine events of the
   * last few batches, never anything the protocol relies on.
   */
  private emit(kind: EngineEventKind, detail: Record<string, unknown>): void {
    const event: EngineEvent = { kind, atMs: this.clock.nowMs(), process: this.processName, pid: this.pid, detail };
    if (this.options.logEvents !== false) {
      this.unlogged.push(event);
      const flushAt = this.logsInCommits() ? EVENT_LOG_BOUND : EVENT_LOG_BATCH;
      if (!ROUTINE_EVENT_KINDS.has(kind) || this.unlogged.length >= flushAt) this.flushEventLog();
    }
    this.options.onEvent?.(event);
  }

  /** Whether buffered events ride along in batch commits (see `emit`): where the strategy's commit carries them. */
  private logsInCommits(): boolean {
    return carriesAlsoInCommit(this.strategy);
  }

  /** The buffered events the next commit writes, taken out of the buffer; undefined while fewer than a batch. */
  private eventsForCommit(): EngineEvent[] | undefined {
    if (!this.logsInCommits() || this.unlogged.length < EVENT_LOG_BATCH) return undefined;
    const events = this.unlogged;
    this.unlogged = [];
    return events;
  }

  /** Writes the buffered events. The event log is diagnostic: a busy database must not stop the sync loop. */
  private flushEventLog(): void {
    if (this.unlogged.length === 0) return;
    const events = this.unlogged;
    this.unlogged = [];
    this.guardDb(() => appendProcessEvents(this.store, events));
  }
}

/**
 * How often a lease waiter retries and a holder looks for waiters. A handoff (the notifier taking the lease from
 * main, and main taking it back) waits on average half an interval on each side: at 100 ms that idle time cost
 * the main process with a stream of notifiers 10-15% of its drain rate (the contention benchmark). Each poll is one
 * indexed read (or a lease upsert that changes nothing while someone else holds it), so 25 ms costs little. With
 * `storeChanges` (every real process, create-engine.ts) a poll also checks again within a few milliseconds of the
 * other side's commit (the wish, the release), so a handoff waits for neither interval where the platform reports
 * the write; the interval is what it waits where it does not.
 */
const DEFAULT_LEASE_POLL_INTERVAL_MS = 25;
/**
 * How long the long-lived loop gives way to other processes that want the lease before it takes one catch-up
 * turn itself (see `waitForLeaseTurn`): a few handoffs' worth, so a single notifier still gets the lease first
 * and main's share under a stream of notifiers is one short request every ~200 ms plus their holds.
 */
const LEASE_DEFER_MS = 200;
const ROUTINE_EVENT_KINDS: ReadonlySet<EngineEventKind> = new Set(['request', 'response', 'commit', 'unchanged']);
const EVENT_LOG_BATCH = 64;
/** Buffered events past which the explicit strategies write the log on its own (see `emit`). */
const EVENT_LOG_BOUND = 4 * EVENT_LOG_BATCH;
/**
 * Sixteen batches of 100 events are about 256 WAL pages. A checkpoint syncs the WAL and then the database file
 * whatever the commits' `synchronous` level, and rewrites the pages every batch touches (the token's, the
 * indexes' last pages) once for all the batches since the last one, so fewer, larger checkpoints cost less per
 * batch: on the 2-core development machine a checkpoint of 16 batches cost about twice one of 4, so half as much
 * per batch (the figures and the drains they moved: docs/performance.md, the NORMAL drain's bullet). A checkpoint
 * of 16 can outlast the server's answer by a millisecond, which that answer then waits; the WAL stays far below
 * SQLite's automatic checkpoint at 1000 pages.
 */
const CHECKPOINT_EVERY_COMMITS = 16;

function describe(error: MatrixClientError | DbError): Record<string, unknown> {
  const { body: _body, ...rest } = error as MatrixClientError & { body?: unknown };
  return rest as Record<string, unknown>;
}
