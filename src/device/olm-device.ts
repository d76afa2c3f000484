/**
 * The device's Olm state as one process of the device uses it: opened when the process starts, handed to the
 * sync engine as its commit-time decryption, and kept up (keys published, unknown sender devices queried,
 * wedged sessions recovered) between commits.
 *
 * Runtime: node / electron-utility. This is the one place that composes src/crypto (libolm, no SQLite) with
 * src/store (SQLite, no crypto). Guarantees:
 * - `openOlmDevice` loads libolm, the pickle key and the account (created on first start) before any commit, and
 *   fails with one line (a bad pickle key, an account of another device) that never holds a secret.
 * - `explicit-cas` / `explicit-lease` decrypt inside the commit's transaction on the shared store
 *   (`sealRoomKeys`: a room key at rest is sealed with the pickle key). `legacy` / `explicit-naive` decrypt with
 *   a copy loaded when the process started and write it back after each commit that changed it, last writer
 *   wins, as the apps those strategies model did (src/crypto/olm-memory-state.ts); that is the harm the harness
 *   measures. A copy the process did not change is not written again, so no harm is made up.
 * - Keys: under `explicit-lease` only the lease holder publishes; under `explicit-cas` any process tries and the
 *   account's compare-and-set picks one (src/crypto/olm-keys.ts); under the legacy strategies each process
 *   publishes from its own copy. Publishing is attempted at start and whenever a sync reports a count below the
 *   target or keys are waiting. An upload the server refuses because one of its one-time key IDs is already
 *   there with another key (two copies generated different keys under one ID) is counted
 *   (`one-time-keys-uploaded-twice`), for the race harness to report.
 * - Rows kept encrypted for an unknown sender device are decrypted once `/keys/query` taught us the device: the
 *   decryption, the new row and the old row's "resolved" mark are one transaction.
 * - Wedged sessions get a new session and an encrypted `m.dummy`, rate-limited in src/crypto/olm-unwedge.ts.
 * `maintain` runs these one at a time; a failure is reported as a line and retried at the next call.
 */
import path from 'node:path';
import { ensureOlmAccount, publishKeys, recordKeyCounts, ONE_TIME_KEY_TARGET, type PublishKeysOutcome } from '../crypto/olm-keys';
import type { OlmIdentity } from '../crypto/olm-account';
import { decryptToDeviceBatch } from '../crypto/olm-decrypt';
import { saveQueriedDevices } from '../crypto/olm-device-keys';
import { loadOlm } from '../crypto/olm-library';
import { OlmMemoryState } from '../crypto/olm-memory-state';
import { createUnwedgingDummy, devicesToUnwedge, keysClaimForUnwedging } from '../crypto/olm-unwedge';
import { describePickleKeyError, filePickleKeySource, type PickleKey, type PickleKeySource } from '../crypto/pickle-key';
import { describeClientError } from '../engine/describe-failure';
import type { E2eeReport } from '../engine/sync-responses';
import type { MatrixClient, MatrixClientError } from '../engine/matrix-client';
import type { KillPoints } from '../engine/kill-points';
import { noKillPoints } from '../engine/kill-points';
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import type { InboxEventInput, OlmKeyCounts, OlmStateStore } from '../shared/olm-state';
import { ENCRYPTED_TO_DEVICE_TYPE, SIGNED_CURVE25519 } from '../shared/olm-wire';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import type { Strategy } from '../shared/strategies';
import type { ToDeviceEvent } from '../shared/wire';
import type { Account } from '../store/account';
import { appendRetriedDecryption, undecryptedInbox } from '../store/inbox';
import { readLease, TO_DEVICE_LEASE_KEY } from '../store/lease';
import { addOlmOutcome } from '../store/olm-bookkeeping';
import { openOlmState, readOlmSnapshot, writeOlmSnapshot } from '../store/olm-state';
import { OLM_COUNTER_DECRYPTED_AFTER_QUERY, OLM_COUNTER_ONE_TIME_KEYS_UPLOADED, OLM_COUNTER_ONE_TIME_KEYS_UPLOADED_TWICE } from '../store/olm-stats';
import type { ClientStore } from '../store/open-store';

/** The counter of one-time keys the server acknowledged (olm_outcomes), shown by the inbox and the dashboard. */
export const ONE_TIME_KEYS_UPLOADED = OLM_COUNTER_ONE_TIME_KEYS_UPLOADED;
/** The counter of rows decrypted after a `/keys/query` taught us their sender device. */
export const RECOVERED_AFTER_QUERY = OLM_COUNTER_DECRYPTED_AFTER_QUERY;
const LEASE_KEY = TO_DEVICE_LEASE_KEY;

export interface OlmDeviceOptions {
  store: ClientStore;
  account: Pick<Account, 'userId' | 'deviceId'>;
  strategy: Strategy;
  /** `main` or `notifier`: the upload claim's holder and the retried rows' `fetched_by`. */
  processName: string;
  pid?: number;
  /** Where the pickle key is kept. Default: the 0600 `pickle-key` file beside the store. */
  pickleKeySource?: PickleKeySource;
  clock?: Clock;
  log?: (line: string) => void;
}

/** The requests the Olm upkeep makes; `MatrixClient` implements them. */
export type OlmDeviceClient = Pick<MatrixClient, 'uploadKeys' | 'queryKeys' | 'claimKeys' | 'sendToDevice'>;

/** What the sync engine takes from the device (SyncEngineOptions' Olm members). */
export interface OlmEngineHooks {
  transformEvents: (events: readonly ToDeviceEvent[], nowMs: number) => readonly InboxEventInput[];
  afterCommit: (nowMs: number) => void;
  e2ee: true;
  onE2ee: (report: E2eeReport, nowMs: number) => void;
}

export interface MaintainSummary {
  published?: PublishKeysOutcome<MatrixClientError>['kind'];
  queriedDevices: number;
  decryptedAfterQuery: number;
  dummiesSent: number;
}

/** Opens the device's Olm state for this process, or says in one line why it cannot. */
export async function openOlmDevice(options: OlmDeviceOptions): Promise<Result<OlmDevice, string>> {
  try {
    await loadOlm();
  } catch (error) {
    return err(`libolm could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
  const source = options.pickleKeySource ?? filePickleKeySource(path.dirname(options.store.path));
  const key = await source.load();
  if (!key.ok) return err(describePickleKeyError(key.error));
  const clock = options.clock ?? systemClock;
  const shared = openOlmState(options.store);
  const identity = ensureOlmAccount(shared, key.value, options.account, clock.nowMs());
  if (!identity.ok) return err(`the device's Olm account cannot be used: ${identity.error.message}`);
  return ok(new OlmDevice(options, key.value, identity.value, shared, clock));
}

export class OlmDevice {
  /** The state decryption and keys work on: the shared store, or this process's copy under legacy strategies. */
  readonly state: OlmStateStore;
  private readonly memory: OlmMemoryState | undefined;
  /** The copy as last loaded or written back, to write back only what this process changed. */
  private memoryWritten: string | undefined;
  private readonly log: (line: string) => void;
  private readonly pid: number;
  private keysDue = true;
  private devicesDue = true;
  private running: Promise<MaintainSummary> | undefined;
  /** Set by the engine's owner: whether this process holds the to-device lease now (explicit-lease only). */
  leaseHolder: (() => string | undefined) | undefined;
  killPoints: KillPoints = noKillPoints;

  constructor(
    private readonly options: OlmDeviceOptions,
    readonly pickleKey: PickleKey,
    readonly identity: OlmIdentity,
    readonly shared: OlmStateStore,
    private readonly clock: Clock,
  ) {
    const { store, strategy } = options;
    this.memory =
      strategy === 'legacy' || strategy === 'explicit-naive'
        ? OlmMemoryState.load({ read: () => readOlmSnapshot(store), write: (snapshot, nowMs) => writeOlmSnapshot(store, snapshot, nowMs) }, shared)
        : undefined;
    this.memoryWritten = this.memory === undefined ? undefined : JSON.stringify(this.memory.snapshot());
    this.state = this.memory ?? shared;
    this.log = options.log ?? ((line) => void process.stderr.write(`${line}\n`));
    this.pid = options.pid ?? process.pid;
  }

  /** The engine's Olm members: decryption at commit, the legacy write-back, the sync's key counts. */
  engineHooks(): OlmEngineHooks {
    const sealRoomKeys = this.memory === undefined;
    return {
      transformEvents: (events, nowMs) => {
        const rows = decryptToDeviceBatch({ state: this.state, pickleKey: this.pickleKey, identity: this.identity, nowMs, sealRoomKeys }, events);
        if (rows.some((row) => row.decryptionError === 'unknown-device')) this.devicesDue = true;
        return rows;
      },
      afterCommit: (nowMs) => this.writeBack(nowMs),
      e2ee: true,
      onE2ee: (report, nowMs) => {
        const due = recordE2eeReport(this.state, report, nowMs);
        if (due.keys) this.keysDue = true;
        if (due.devices) this.devicesDue = true;
      },
    };
  }

  /**
   * Legacy strategies: writes this process's whole copy back over the store, as those apps saved their state
   * after changing it; a copy this process did not change since it last wrote it is not written again.
   */
  private writeBack(nowMs: number): void {
    if (this.memory === undefined) return;
    const current = JSON.stringify(this.memory.snapshot());
    if (current === this.memoryWritten) return;
    this.memory.flush(nowMs);
    this.memoryWritten = current;
  }

  /** Whether `maintain` has work waiting (keys to publish, devices to query, sessions to recover). */
  get due(): boolean {
    return this.keysDue || this.devicesDue || devicesToUnwedge(this.state, this.clock.nowMs()).length > 0;
  }

  /** Publishes keys, resolves unknown sender devices, recovers wedged sessions. One call at a time. */
  maintain(client: OlmDeviceClient): Promise<MaintainSummary> {
    this.running ??= this.maintainNow(client).finally(() => (this.running = undefined));
    return this.running;
  }

  /** The maintenance running now, if any (a notifier awaits it before it exits). */
  get idle(): Promise<unknown> {
    return this.running ?? Promise.resolve();
  }

  private async maintainNow(client: OlmDeviceClient): Promise<MaintainSummary> {
    const summary: MaintainSummary = { queriedDevices: 0, decryptedAfterQuery: 0, dummiesSent: 0 };
    if (this.keysDue && this.mayPublish()) {
      this.keysDue = false;
      const outcome = await this.publish(client);
      summary.published = outcome.kind;
      if (outcome.kind === 'upload-failed' || outcome.kind === 'changed' || outcome.kind === 'busy') this.keysDue = true;
    }
    if (this.devicesDue) {
      this.devicesDue = false;
      const resolved = await this.resolveUnknownDevices(client);
      summary.queriedDevices = resolved.queried;
      summary.decryptedAfterQuery = resolved.decrypted;
    }
    summary.dummiesSent = await this.unwedge(client);
    return summary;
  }

  /** Under `explicit-lease` only the lease holder publishes; every other strategy lets any process try. */
  private mayPublish(): boolean {
    if (this.options.strategy !== 'explicit-lease') return true;
    const holder = this.leaseHolder?.();
    if (holder === undefined) return false;
    const lease = readLease(this.options.store, LEASE_KEY);
    return lease !== undefined && lease.holder === holder && lease.expiresAtMs > this.clock.nowMs();
  }

  /** Plan, claim, upload, mark (src/crypto/olm-keys.ts); counts the one-time keys the server acknowledged. */
  async publish(client: OlmDeviceClient): Promise<PublishKeysOutcome<MatrixClientError>> {
    const outcome = await publishKeys({
      state: this.state,
      pickleKey: this.pickleKey,
      uploader: client,
      holder: this.options.processName,
      nowMs: () => this.clock.nowMs(),
      afterUpload: () => this.killPoints.hit('after-keys-upload-before-mark-published'),
    });
    const nowMs = this.clock.nowMs();
    if (outcome.kind === 'published') addOlmOutcome(this.options.store, ONE_TIME_KEYS_UPLOADED, outcome.uploaded.oneTimeKeys, nowMs);
    if (outcome.kind === 'upload-failed') {
      if (isOneTimeKeyConflict(outcome.error)) addOlmOutcome(this.options.store, OLM_COUNTER_ONE_TIME_KEYS_UPLOADED_TWICE, 1, nowMs);
      this.log(`${this.options.processName}: the key upload failed, retried later: ${describeError(outcome.error)}`);
    }
    this.writeBack(nowMs);
    return outcome;
  }

  /**
   * Asks `/keys/query` for the senders of rows kept encrypted as `unknown-device`, saves the devices that check
   * out, and decrypts those rows again: each retry's result is appended and the old row marked settled by it, in
   * one transaction with the Olm changes. A row whose device is still unknown stays as it is.
   */
  async resolveUnknownDevices(client: OlmDeviceClient): Promise<{ queried: number; decrypted: number }> {
    const waiting = undecryptedInbox(this.options.store, 'unknown-device');
    if (waiting.length === 0) return { queried: 0, decrypted: 0 };
    const users = [...new Set(waiting.map((row) => row.event.sender))];
    const answer = await client.queryKeys({ device_keys: Object.fromEntries(users.map((user) => [user, []])) });
    if (!answer.ok) {
      this.devicesDue = true;
      this.log(`${this.options.processName}: /keys/query failed, retried later: ${describeError(answer.error)}`);
      return { queried: 0, decrypted: 0 };
    }
    const { saved, rejected } = saveQueriedDevices(this.shared, answer.value, this.identity, this.clock.nowMs());
    for (const device of rejected) this.log(`${this.options.processName}: device ${device.userId} ${device.deviceId} refused: ${device.reason}`);
    const decrypted = this.options.store.immediate(() => {
      const nowMs = this.clock.nowMs();
      let count = 0;
      for (const { seq, event } of undecryptedInbox(this.options.store, 'unknown-device')) {
        // Only rows whose device is known now: retrying the others would count them as unknown once more.
        if (typeof event.content.sender_key !== 'string' || this.shared.deviceByCurve25519(event.sender, event.content.sender_key) === undefined) continue;
        const [row] = decryptToDeviceBatch({ state: this.state, pickleKey: this.pickleKey, identity: this.identity, nowMs, sealRoomKeys: this.memory === undefined }, [event]);
        if (row === undefined || row.decryptionError === 'unknown-device') continue;
        if (appendRetriedDecryption(this.options.store, seq, row, { process: this.options.processName, pid: this.pid, nowMs }) === undefined) continue;
        if (row.decryptionError === undefined) count += 1;
      }
      addOlmOutcome(this.options.store, RECOVERED_AFTER_QUERY, count, nowMs);
      return count;
    });
    this.writeBack(this.clock.nowMs());
    return { queried: saved.length, decrypted };
  }

  /** Sends a new-session `m.dummy` to each wedged device that is due (rate-limited per device). */
  async unwedge(client: OlmDeviceClient): Promise<number> {
    const due = devicesToUnwedge(this.state, this.clock.nowMs());
    if (due.length === 0) return 0;
    const claim = await client.claimKeys(keysClaimForUnwedging(due));
    if (!claim.ok) {
      this.log(`${this.options.processName}: /keys/claim for wedged sessions failed, retried later: ${describeError(claim.error)}`);
      return 0;
    }
    let sent = 0;
    for (const record of due) {
      const dummy = createUnwedgingDummy(
        { state: this.state, pickleKey: this.pickleKey, identity: this.identity, nowMs: this.clock.nowMs() },
        record.senderKey,
        claim.value,
      );
      if (!dummy.ok) continue;
      this.writeBack(this.clock.nowMs());
      const txnId = `unwedge-${dummy.value.sessionId}`;
      const delivered = await client.sendToDevice(ENCRYPTED_TO_DEVICE_TYPE, txnId, { [dummy.value.userId]: { [dummy.value.deviceId]: dummy.value.content } });
      if (delivered.ok) sent += 1;
      else this.log(`${this.options.processName}: the m.dummy to ${record.userId} ${record.deviceId} was not sent: ${describeError(delivered.error)}`);
    }
    return sent;
  }
}

/**
 * What a sync response's e2ee fields change: the server's key counts are recorded in `state` when they differ
 * from those stored (a write per sync response would take the write lock once more for every long poll that
 * returns), and the answer says whether keys should be published (one-time keys below half the target, or the
 * fallback key used) and whether devices changed. Needs no libolm, so a process whose Olm state is not open
 * yet records the counts all the same.
 */
export function recordE2eeReport(state: OlmStateStore, report: E2eeReport, nowMs: number): { keys: boolean; devices: boolean } {
  if (report.oneTimeKeyCounts[SIGNED_CURVE25519] === undefined && Object.keys(report.oneTimeKeyCounts).length === 0) return { keys: false, devices: false };
  if (!sameCounts(state.readKeyCounts(), report)) recordKeyCounts(state, report, nowMs);
  const count = report.oneTimeKeyCounts[SIGNED_CURVE25519] ?? 0;
  const fallbackUsed = report.unusedFallbackKeyTypes !== null && !report.unusedFallbackKeyTypes.includes(SIGNED_CURVE25519);
  return { keys: count < ONE_TIME_KEY_TARGET / 2 || fallbackUsed, devices: report.changedUsers.length > 0 };
}

/**
 * Whether `maintain` has work other than publishing keys: rows kept encrypted for an unknown sender device, or a
 * wedged session due for recovery. Read from the store alone (no libolm), so a process that may publish no keys
 * (a notifier under `explicit-lease` after it gave the lease back) can tell whether it needs its Olm state open.
 */
export function olmUpkeepWaitsBesidesKeys(store: ClientStore, nowMs: number): boolean {
  return undecryptedInbox(store, 'unknown-device', 1).length > 0 || devicesToUnwedge(openOlmState(store), nowMs).length > 0;
}

function sameCounts(stored: OlmKeyCounts | undefined, report: E2eeReport): boolean {
  if (stored === undefined) return false;
  const a = Object.entries(stored.oneTimeKeyCounts).sort(([x], [y]) => x.localeCompare(y));
  const b = Object.entries(report.oneTimeKeyCounts).sort(([x], [y]) => x.localeCompare(y));
  const fallback = (types: string[] | null): string => (types === null ? 'null' : [...types].sort().join(','));
  return JSON.stringify(a) === JSON.stringify(b) && fallback(stored.unusedFallbackKeyTypes) === fallback(report.unusedFallbackKeyTypes);
}

/**
 * The homeserver's answer when a one-time key ID it already holds is uploaded with another key: 400 with
 * "One time key <algorithm>:<id> already exists" (Synapse's message, which todevice serve copies).
 */
export function isOneTimeKeyConflict(error: MatrixClientError): boolean {
  return error.kind === 'http' && error.status === 400 && /One time key \S+ already exists/.test(error.message);
}

function describeError(error: MatrixClientError): string {
  return describeClientError(error);
}
