/**
 * One process's view of the shared lease: taking it, renewing it during a long poll, giving it up to a waiter,
 * and waiting for it within a bound (DESIGN.md §4.3, §4.4).
 *
 * Runtime: node. The lease is matrix-rust-sdk's (see src/store/lease.ts); this module adds the preemption
 * protocol, which works through the database alone so that correctness never depends on an IPC hint:
 * 1. A waiter (the notifier) writes a `lease_wanted` row and refreshes it (a few times per freshness window)
 *    while it polls `tryAcquireLease`.
 * 2. The holder's long poll checks for fresh wanters every `pollIntervalMs` (a cheap indexed read). When it
 *    sees one it aborts its in-flight request and releases the lease. Aborting is safe: nothing is acknowledged
 *    until the next request carries a new `since`, and nothing from the aborted response was committed.
 * 3. The holder then waits until another process has taken the lease, or nobody wants it any more, or a bound
 *    passes, and goes back to waiting for its turn (which defers while anyone else wants the lease).
 * So a waiter gets the lease within one poll interval plus the abort, far inside one lease period; sooner where
 * the polls are woken by the other side's commits (`sleep` from store-changes.ts, which every real process uses),
 * as the wish and the release both are. A holder that
 * stalls instead of cooperating loses the lease by expiry, and its next commit is fenced (F9). A holder whose
 * process is gone (killed) or stopped (SIGSTOP) is not waited out when `holderGone` says so: the next attempt
 * takes its lease, and the stopped one, once continued, is fenced the same way.
 */
import type { Clock } from '../shared/clock';
import type { ClientStore } from '../store/open-store';
import {
  clearLeaseWanted,
  listLeaseWanters,
  markLeaseWanted,
  readLease,
  releaseLease,
  renewLease,
  tryAcquireLease,
  type LeaseAcquisition,
} from '../store/lease';
import type { Sleep } from './timing';

export interface LeaseKeeperOptions {
  store: ClientStore;
  clock: Clock;
  sleep: Sleep;
  key: string;
  holder: string;
  durationMs: number;
  pollIntervalMs: number;
  /** See `SyncEngineOptions.leaseHolderGone`. */
  holderGone?: (holder: string) => boolean;
  /** Told about acquisitions, losses and releases (for the event log). */
  onChange: (kind: 'lease-acquired' | 'lease-lost' | 'lease-released', detail: Record<string, unknown>) => void;
}

export class LeaseKeeper {
  private held: { generation: number; renewAtMs: number; expiresAtMs: number } | undefined;
  /** The generation this holder last held; a different one on acquisition means someone else wrote. */
  private knownGeneration: number | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {}

  get holder(): string {
    return this.options.holder;
  }

  /** The generation currently believed held, if any. */
  get heldGeneration(): number | undefined {
    return this.held?.generation;
  }

  /** Takes or extends the lease now (rust-sdk upsert). */
  take(): LeaseAcquisition {
    const { store, clock, key, holder, durationMs, holderGone } = this.options;
    const nowMs = clock.nowMs();
    const result = tryAcquireLease(store, {
      key,
      holder,
      durationMs,
      nowMs,
      knownGeneration: this.knownGeneration,
      ...(holderGone === undefined ? {} : { holderGone }),
    });
    if (result.acquired) {
      const isNew = this.held?.generation !== result.generation;
      this.held = { generation: result.generation, renewAtMs: nowMs + durationMs / 2, expiresAtMs: result.expiresAtMs };
      this.knownGeneration = result.generation;
      if (isNew) {
        const takenFrom = result.takenFromGoneHolder === undefined ? {} : { takenFromGoneHolder: result.takenFromGoneHolder };
        this.options.onChange('lease-acquired', { holder, generation: result.generation, generationChanged: result.generationChanged, ...takenFrom });
      }
    } else if (this.held !== undefined) {
      this.forget('taken by another holder');
    }
    return result;
  }

  /**
   * The lease for the next request: the one already held while less than half its period has passed (no write),
   * else `take()`. Skipping the upsert is safe because nobody can take an unexpired lease (the upsert's
   * condition), and a holder that stalled past half its period takes it anew here; a holder that stalls right
   * after this check is stopped by the fencing check in `commitBatch`, exactly as after `take()`. It saves one
   * durable write per batch, which at `synchronous = FULL` is one fsync.
   */
  holdOrTake(): LeaseAcquisition {
    const held = this.held;
    if (held !== undefined && this.options.clock.nowMs() < held.renewAtMs) {
      return { acquired: true, generation: held.generation, generationChanged: false, expiresAtMs: held.expiresAtMs };
    }
    return this.take();
  }

  /** Forgets the lease without touching the database (it was lost: fenced, or renewal refused). */
  forget(reason: string): void {
    if (this.held === undefined) return;
    this.options.onChange('lease-lost', { holder: this.holder, generation: this.held.generation, reason });
    this.held = undefined;
  }

  /** Releases a held lease (expiry 0) so a waiter can take it at once. */
  release(reason: string): void {
    if (this.held === undefined) return;
    const { store, key, holder } = this.options;
    const released = releaseLease(store, { key, holder, generation: this.held.generation });
    this.options.onChange(released ? 'lease-released' : 'lease-lost', { holder, generation: this.held.generation, reason });
    this.held = undefined;
  }

  /**
   * Do other processes want the lease right now? (Their rows are fresh only while they keep polling.) A wanter
   * whose process is gone (`holderGone`, asked about the wanter's name) does not count: a notifier killed while
   * it waited leaves a row that stays fresh for a whole freshness window, and the holder would otherwise give
   * the lease up, and stay away from it, for a process that will never take it. Misjudging a live wanter as
   * gone only delays its turn until the holder's next check; the lease itself is untouched.
   */
  othersWant(): boolean {
    const { store, clock, key, holder, holderGone } = this.options;
    const freshSinceMs = clock.nowMs() - this.wantedFreshMs();
    const wanters = listLeaseWanters(store, { key, except: holder, freshSinceMs });
    return wanters.some((wanter) => holderGone?.(wanter.wanter) !== true);
  }

  /**
   * Does a live process other than this one hold the lease right now: unexpired, and its process not known to
   * be gone? A process that only needs a room key it already has (a notifier) uses this to leave the lease to a
   * holder that is syncing anyway, instead of making it give way. A read, no write; the answer can be stale at
   * once, which only decides whether this process syncs itself: nothing is acknowledged or committed on it.
   */
  heldByAnotherLiveProcess(): boolean {
    return this.otherLiveHolder() !== undefined;
  }

  /** The holder when `heldByAnotherLiveProcess` is true (its `process:pid` name), else undefined. */
  otherLiveHolder(): string | undefined {
    const { store, clock, key, holder, holderGone } = this.options;
    const lease = readLease(store, key);
    if (lease === undefined || lease.holder === holder || lease.expiresAtMs <= clock.nowMs()) return undefined;
    return holderGone?.(lease.holder) === true ? undefined : lease.holder;
  }

  private wantedFreshMs(): number {
    return Math.max(1000, 10 * this.options.pollIntervalMs);
  }

  /**
   * The long poll's periodic check: give way to a waiter, or renew when half the lease has passed.
   * Returns what the caller must do with its in-flight request.
   */
  check(): 'keep' | 'preempted' | 'lease-lost' {
    if (this.held === undefined) return 'lease-lost';
    if (this.othersWant()) return 'preempted';
    const { store, clock, key, holder, durationMs } = this.options;
    const nowMs = clock.nowMs();
    if (nowMs < this.held.renewAtMs) return 'keep';
    if (!renewLease(store, { key, holder, generation: this.held.generation, durationMs, nowMs })) {
      this.forget('renewal refused');
      return 'lease-lost';
    }
    this.held.renewAtMs = nowMs + durationMs / 2;
    this.held.expiresAtMs = nowMs + durationMs;
    return 'keep';
  }

  /**
   * Waits up to `waitMs` for the lease, announcing the wish so a long-polling holder gives way. Bounded both by
   * the clock and by a number of attempts (so a fake clock cannot make it spin forever). `giveUpWhen`, asked
   * before every attempt after the first, ends the wait early (the caller no longer needs the lease, say because
   * the holder it waited for has committed what it needed); the answer is then the refused attempt before it.
   *
   * `notBefore`: the wish is announced at once, but the lease is taken only once this promise has settled (the
   * caller is not ready to use it before: a notifier whose Olm state is still opening could send its request
   * but not commit the answer). Why: a holder that is not ready holds everyone else up for nothing. A notifier
   * used to take the lease first and then wait, holding it, for its Olm state to open, which is 0.1 s on a
   * quiet machine and over a second on a loaded one; every other process waited that long behind it, one
   * notifier after another. Announcing early still makes the holder give way while the caller gets ready, and
   * the lease, free in the meantime, goes to any process that is ready. Refused when the wait ends before.
   */
  async acquireWithin(waitMs: number, signal?: AbortSignal, giveUpWhen?: () => boolean, notBefore?: Promise<unknown>): Promise<LeaseAcquisition> {
    const { store, clock, key, holder, pollIntervalMs, sleep } = this.options;
    const deadlineMs = clock.nowMs() + waitMs;
    // Its sleeps may end early, at another process's commit (store-changes.ts), so the bound allows one attempt
    // per millisecond of the wait, not one per poll; the deadline ends a wait on a real clock long before.
    const maxAttempts = Math.ceil(waitMs / Math.min(1, pollIntervalMs)) + 2;
    // The wish is a durable write: refreshed well within its freshness window, not on every short poll.
    const refreshEveryMs = this.wantedFreshMs() / 4;
    const readiness = new Readiness(notBefore);
    let markedAtMs = Number.NEGATIVE_INFINITY;
    let result = readiness.ready ? this.take() : undefined;
    for (let attempt = 1; result?.acquired !== true && attempt < maxAttempts; attempt += 1) {
      const nowMs = clock.nowMs();
      if (nowMs >= deadlineMs || signal?.aborted === true) break;
      if (nowMs - markedAtMs >= refreshEveryMs) {
        markLeaseWanted(store, { key, wanter: holder, nowMs });
        markedAtMs = nowMs;
      }
      await sleep(Math.min(pollIntervalMs, deadlineMs - nowMs), readiness.wakeSignal(signal));
      if (giveUpWhen?.() === true) break;
      // Read first: while another live process holds the lease the upsert would be refused anyway, and as a
      // write it would queue for the write lock behind the holder's commits, one attempt per commit it hears of.
      if (readiness.ready && !this.heldByAnotherLiveProcess()) result = this.take();
    }
    clearLeaseWanted(store, { key, wanter: holder });
    return result ?? this.refusal();
  }

  /** A refused acquisition that names the current holder, for a wait that ended before any attempt was made. */
  private refusal(): LeaseAcquisition {
    const lease = readLease(this.options.store, this.options.key);
    return { acquired: false, holder: lease?.holder ?? '', expiresAtMs: lease?.expiresAtMs ?? 0, generation: lease?.generation ?? 0 };
  }

  /**
   * After giving the lease up to a waiter: waits until another process took it, nobody wants it any more, or
   * `boundMs` passed. Without this the holder would retake the lease before the waiter's next poll. Bounded
   * short (the caller passes its deferral, a fraction of a second) rather than by lease periods: a waiter may
   * announce its wish before it is ready to take the lease (`acquireWithin`'s `notBefore`), and the holder,
   * which is ready, then goes back to short turns of its own instead of idling through the waiter's start.
   */
  async yieldToWaiter(signal: AbortSignal, boundMs: number): Promise<void> {
    const { store, clock, key, pollIntervalMs, sleep } = this.options;
    const sinceGeneration = this.knownGeneration ?? 0;
    const deadlineMs = clock.nowMs() + boundMs;
    // Sleeps that end early at a commit elsewhere do not use up the bound (see `acquireWithin`).
    const maxPolls = Math.ceil(boundMs / Math.min(1, pollIntervalMs)) + 1;
    for (let poll = 0; poll < maxPolls && !signal.aborted && clock.nowMs() < deadlineMs; poll += 1) {
      const lease = readLease(store, key);
      if (lease !== undefined && lease.generation > sinceGeneration) return;
      if (!this.othersWant()) return;
      await sleep(pollIntervalMs, signal);
    }
  }
}

/** Whether a `notBefore` promise has settled, and a signal that wakes a waiter's sleep when it does. */
class Readiness {
  ready: boolean;
  private readonly settled = new AbortController();

  constructor(notBefore: Promise<unknown> | undefined) {
    this.ready = notBefore === undefined;
    const settle = (): void => {
      this.ready = true;
      this.settled.abort();
    };
    void notBefore?.then(settle, settle);
  }

  /** `signal`, and, until ready, the moment of readiness: a sleep then ends at once instead of at its poll. */
  wakeSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
    if (this.ready) return signal;
    return signal === undefined ? this.settled.signal : AbortSignal.any([signal, this.settled.signal]);
  }
}
