/**
 * The device's key lifecycle: the account on first start, then the device keys, one-time keys and fallback key
 * it publishes with `/keys/upload`.
 *
 * Runtime: node / electron-utility, after `loadOlm()`. The network is injected (`KeysUploader`, which
 * `MatrixClient.uploadKeys` implements); the rest is synchronous store work in short transactions. Guarantees:
 * - Persist, then upload, then mark published. New keys are written into the account pickle (one compare-and-set
 *   on the account version) BEFORE the upload, and marked published (libolm `mark_keys_as_published`, another
 *   compare-and-set) only after the server answered. A crash in between leaves them unpublished in the stored
 *   pickle, so the next attempt uploads the very same keys again, byte for byte (signatures are deterministic),
 *   which the server accepts; the server never holds a key whose private half we lost.
 * - One uploader at a time. The compare-and-set that persists the keys also records an upload claim (holder and
 *   expiry). Of two processes that read the same version, one wins and the other gets `lost-race` and uploads
 *   nothing; while a claim holds, others get `busy`. A claimant that crashed is replaced once its claim lapsed
 *   (`UPLOAD_CLAIM_MS`), or at once by a process with the same holder name (the same app restarted). Under
 *   `explicit-lease` only the lease holder should call this; under `explicit-cas` any process may.
 * - Marking checks that the account holds no unpublished key other than those uploaded (a commit may have used
 *   one of them meanwhile, which is fine); otherwise it marks nothing and the next attempt uploads the rest.
 * - Counts follow matrix-rust-sdk: top the server's `signed_curve25519` count up to `ONE_TIME_KEY_TARGET` (half of
 *   libolm's 100) whenever it is below, but never generate while unpublished keys wait for their upload. The
 *   fallback key is rotated when the server reports it used (absent from its unused fallback key types), and at
 *   the latest after `FALLBACK_KEY_MAX_AGE_MS` (rust-sdk's week); the previous one is kept for
 *   `PREVIOUS_FALLBACK_KEEP_MS` for pre-key messages already on their way, then forgotten.
 */
import type { OlmAccountChanges, OlmAccountRecord, OlmKeyCounts, OlmStateStore } from '../shared/olm-state';
import type { KeysUploadRequest, KeysUploadResponse } from '../shared/olm-wire';
import { SIGNED_CURVE25519 } from '../shared/olm-wire';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import {
  createAccount,
  OlmPickleError,
  signedDeviceKeys,
  signedFallbackKeys,
  signedOneTimeKeys,
  unpublishedFallbackKey,
  unpublishedOneTimeKeys,
  withAccount,
  type OlmIdentity,
} from './olm-account';
import type { PickleKey } from './pickle-key';

export const ONE_TIME_KEY_TARGET = 50;
export const UPLOAD_CLAIM_MS = 60_000;
export const FALLBACK_KEY_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
export const PREVIOUS_FALLBACK_KEEP_MS = 60 * 60 * 1000;

/** What the key upload needs from the network; `MatrixClient` implements it. */
export interface KeysUploader<E> {
  uploadKeys(body: KeysUploadRequest): Promise<Result<KeysUploadResponse, E>>;
}

export type OlmAccountError =
  | { kind: 'bad-pickle-key' | 'corrupt-pickle'; message: string }
  | { kind: 'account-mismatch'; message: string };

/**
 * The device's identity: the stored account, or a new one created now (on first start). A second process that
 * creates one at the same moment loses the insert and uses the winner's. The stored pickle is opened once to
 * check the pickle key, so a wrong key is reported here, as a value, and not in the middle of a commit.
 */
export function ensureOlmAccount(
  state: OlmStateStore,
  pickleKey: PickleKey,
  device: { userId: string; deviceId: string },
  nowMs: number,
): Result<OlmIdentity, OlmAccountError> {
  let record = state.readAccount();
  if (record === undefined) {
    const created = createAccount(pickleKey);
    state.insertAccount({
      userId: device.userId,
      deviceId: device.deviceId,
      ...created,
      version: 1,
      deviceKeysPublished: false,
      fallbackKeyCreatedAtMs: null,
      previousFallbackExpiresAtMs: null,
      uploadClaimedBy: null,
      uploadClaimExpiresAtMs: null,
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
    });
    record = state.readAccount();
    if (record === undefined) throw new Error('the Olm account vanished right after it was inserted');
  }
  if (record.userId !== device.userId || record.deviceId !== device.deviceId) {
    return err({ kind: 'account-mismatch', message: `the store's Olm account belongs to ${record.userId} ${record.deviceId}, not ${device.userId} ${device.deviceId}` });
  }
  try {
    withAccount(record.pickle, pickleKey, () => undefined);
  } catch (error) {
    if (error instanceof OlmPickleError) return err({ kind: error.kind, message: error.message });
    throw error;
  }
  return ok({ userId: record.userId, deviceId: record.deviceId, curve25519: record.curve25519, ed25519: record.ed25519 });
}

/** Stores what the server reported (a sync's `device_one_time_keys_count` and `device_unused_fallback_key_types`). */
export function recordKeyCounts(
  state: OlmStateStore,
  report: { oneTimeKeyCounts: Record<string, number>; unusedFallbackKeyTypes?: string[] | null },
  nowMs: number,
): void {
  state.writeKeyCounts({ oneTimeKeyCounts: report.oneTimeKeyCounts, unusedFallbackKeyTypes: report.unusedFallbackKeyTypes ?? null, reportedAtMs: nowMs });
}

export type KeysUploadPlan =
  | { kind: 'nothing-to-do' }
  | { kind: 'busy'; holder: string; untilMs: number }
  | { kind: 'upload'; expectedVersion: number; changes: OlmAccountChanges; generated: { oneTimeKeys: number; fallbackKey: boolean } };

/**
 * Step 1 (no write): reads the account and, if keys must be uploaded, prepares the new pickle in memory (new
 * one-time keys, a rotated fallback key). Keys generated here exist nowhere else until `claimKeysUpload`
 * persists them; a plan that loses the race is simply dropped.
 */
export function planKeysUpload(state: OlmStateStore, pickleKey: PickleKey, holder: string, nowMs: number): KeysUploadPlan {
  const account = requireAccount(state);
  const claimExpires = account.uploadClaimExpiresAtMs ?? 0;
  if (account.uploadClaimedBy !== null && account.uploadClaimedBy !== holder && claimExpires > nowMs) {
    return { kind: 'busy', holder: account.uploadClaimedBy, untilMs: claimExpires };
  }
  const counts = state.readKeyCounts();
  return withAccount(account.pickle, pickleKey, (olmAccount): KeysUploadPlan => {
    const waitingOneTimeKeys = Object.keys(unpublishedOneTimeKeys(olmAccount)).length;
    const waitingFallback = Object.keys(unpublishedFallbackKey(olmAccount)).length > 0;
    const serverCount = counts?.oneTimeKeyCounts[SIGNED_CURVE25519] ?? 0;
    const newOneTimeKeys = waitingOneTimeKeys === 0 && serverCount < ONE_TIME_KEY_TARGET ? ONE_TIME_KEY_TARGET - serverCount : 0;
    const newFallback = !waitingFallback && fallbackKeyDue(account, counts, nowMs);
    const forgetPrevious = account.previousFallbackExpiresAtMs !== null && account.previousFallbackExpiresAtMs <= nowMs;
    const upload = !account.deviceKeysPublished || waitingOneTimeKeys > 0 || waitingFallback || newOneTimeKeys > 0 || newFallback;
    if (!upload && !forgetPrevious) return { kind: 'nothing-to-do' };
    const changes: OlmAccountChanges = {};
    if (newOneTimeKeys > 0) olmAccount.generate_one_time_keys(newOneTimeKeys);
    if (forgetPrevious) {
      olmAccount.forget_old_fallback_key();
      changes.previousFallbackExpiresAtMs = null;
    }
    if (newFallback) {
      olmAccount.generate_fallback_key();
      changes.fallbackKeyCreatedAtMs = nowMs;
      if (account.fallbackKeyCreatedAtMs !== null) changes.previousFallbackExpiresAtMs = nowMs + PREVIOUS_FALLBACK_KEEP_MS;
    }
    if (newOneTimeKeys > 0 || newFallback || forgetPrevious) changes.pickle = olmAccount.pickle(pickleKey.forOlm());
    if (upload) {
      changes.uploadClaimedBy = holder;
      changes.uploadClaimExpiresAtMs = nowMs + UPLOAD_CLAIM_MS;
    }
    return { kind: 'upload', expectedVersion: account.version, changes, generated: { oneTimeKeys: newOneTimeKeys, fallbackKey: newFallback } };
  });
}

function fallbackKeyDue(account: OlmAccountRecord, counts: OlmKeyCounts | undefined, nowMs: number): boolean {
  if (account.fallbackKeyCreatedAtMs === null) return true;
  if (nowMs - account.fallbackKeyCreatedAtMs > FALLBACK_KEY_MAX_AGE_MS) return true;
  // Only a report made after the current key was generated can say that the current key was used.
  const reportIsNewer = counts !== undefined && counts.reportedAtMs > account.fallbackKeyCreatedAtMs;
  return reportIsNewer && counts.unusedFallbackKeyTypes !== null && !counts.unusedFallbackKeyTypes.includes(SIGNED_CURVE25519);
}

export interface KeysUploadClaim {
  /** The account version the claim wrote. */
  version: number;
  body: KeysUploadRequest;
  /** Unpublished key IDs with their keys (`ID=key`), to check at marking time. */
  uploadedOneTimeKeys: string[];
  uploadedFallbackKeys: string[];
  holder: string;
}

/**
 * Step 2 (one compare-and-set): persists the plan's pickle and the upload claim at the version the plan read, and
 * builds the upload body from what was persisted. `lost-race` when another process wrote first: upload nothing.
 * With nothing to upload (only an old fallback key to forget) the write is made and `nothing-to-upload` returned.
 */
export function claimKeysUpload(
  state: OlmStateStore,
  pickleKey: PickleKey,
  plan: Extract<KeysUploadPlan, { kind: 'upload' }>,
  holder: string,
  nowMs: number,
): { kind: 'claimed'; claim: KeysUploadClaim } | { kind: 'lost-race' } | { kind: 'nothing-to-upload' } {
  return state.immediate(() => {
    if (!state.compareAndSetAccount(plan.expectedVersion, plan.changes, nowMs)) return { kind: 'lost-race' as const };
    const account = requireAccount(state);
    if (plan.changes.uploadClaimedBy === undefined) return { kind: 'nothing-to-upload' as const };
    const claim = withAccount(account.pickle, pickleKey, (olmAccount): KeysUploadClaim => {
      const body: KeysUploadRequest = {};
      if (!account.deviceKeysPublished) body.device_keys = signedDeviceKeys(olmAccount, account);
      const oneTimeKeys = signedOneTimeKeys(olmAccount, account);
      if (Object.keys(oneTimeKeys).length > 0) body.one_time_keys = oneTimeKeys;
      const fallbackKeys = signedFallbackKeys(olmAccount, account);
      if (Object.keys(fallbackKeys).length > 0) body.fallback_keys = fallbackKeys;
      return {
        version: account.version,
        body,
        uploadedOneTimeKeys: keyList(unpublishedOneTimeKeys(olmAccount)),
        uploadedFallbackKeys: keyList(unpublishedFallbackKey(olmAccount)),
        holder,
      };
    });
    return { kind: 'claimed' as const, claim };
  });
}

/**
 * Step 3 (after the server answered): marks the uploaded keys published and records the server's counts, in one
 * compare-and-set on the current version. `changed` when the account holds unpublished keys that were not part of
 * this upload (then nothing is marked; the next attempt uploads everything unpublished).
 */
export function completeKeysUpload(
  state: OlmStateStore,
  pickleKey: PickleKey,
  claim: KeysUploadClaim,
  response: KeysUploadResponse,
  nowMs: number,
): { kind: 'published'; oneTimeKeyCount: number } | { kind: 'changed' } {
  return state.immediate(() => {
    const account = requireAccount(state);
    const marked = withAccount(account.pickle, pickleKey, (olmAccount): string | undefined => {
      const uploaded = new Set([...claim.uploadedOneTimeKeys, ...claim.uploadedFallbackKeys]);
      const waiting = [...keyList(unpublishedOneTimeKeys(olmAccount)), ...keyList(unpublishedFallbackKey(olmAccount))];
      if (!waiting.every((key) => uploaded.has(key))) return undefined;
      olmAccount.mark_keys_as_published();
      return olmAccount.pickle(pickleKey.forOlm());
    });
    if (marked === undefined) {
      releaseClaim(state, claim.holder, nowMs);
      return { kind: 'changed' as const };
    }
    const changes: OlmAccountChanges = { pickle: marked, uploadClaimedBy: null, uploadClaimExpiresAtMs: null };
    if (claim.body.device_keys !== undefined) changes.deviceKeysPublished = true;
    if (!state.compareAndSetAccount(account.version, changes, nowMs)) throw new Error('the Olm account changed inside an immediate transaction');
    const previous = state.readKeyCounts();
    // The server now holds an unused fallback key if we just uploaded one; otherwise its last report stands.
    const unused = claim.uploadedFallbackKeys.length > 0 ? [SIGNED_CURVE25519] : (previous?.unusedFallbackKeyTypes ?? null);
    state.writeKeyCounts({ oneTimeKeyCounts: response.one_time_key_counts, unusedFallbackKeyTypes: unused, reportedAtMs: nowMs });
    return { kind: 'published' as const, oneTimeKeyCount: response.one_time_key_counts[SIGNED_CURVE25519] ?? 0 };
  });
}

/** Drops `holder`'s upload claim (after a failed upload), so another process need not wait for it to lapse. */
export function releaseClaim(state: OlmStateStore, holder: string, nowMs: number): void {
  state.immediate(() => {
    const account = state.readAccount();
    if (account === undefined || account.uploadClaimedBy !== holder) return;
    state.compareAndSetAccount(account.version, { uploadClaimedBy: null, uploadClaimExpiresAtMs: null }, nowMs);
  });
}

export type PublishKeysOutcome<E> =
  | { kind: 'nothing-to-do' }
  | { kind: 'busy'; holder: string; untilMs: number }
  | { kind: 'lost-race' }
  | { kind: 'published'; oneTimeKeyCount: number; uploaded: { oneTimeKeys: number; fallbackKeys: number; deviceKeys: boolean } }
  | { kind: 'changed' }
  | { kind: 'upload-failed'; error: E };

export interface PublishKeysInput<E> {
  state: OlmStateStore;
  pickleKey: PickleKey;
  uploader: KeysUploader<E>;
  /** This process's name; a restarted process with the same name may take over its own lapsed-or-not claim. */
  holder: string;
  nowMs: () => number;
  /** Called after the server answered the upload and before the keys are marked published (a kill point). */
  afterUpload?: () => void;
}

/** Plan, claim, upload, mark: the whole step. Call it at start and whenever the server's counts were recorded. */
export async function publishKeys<E>(input: PublishKeysInput<E>): Promise<PublishKeysOutcome<E>> {
  const { state, pickleKey, uploader, holder, nowMs } = input;
  const plan = planKeysUpload(state, pickleKey, holder, nowMs());
  if (plan.kind !== 'upload') return plan;
  const claimed = claimKeysUpload(state, pickleKey, plan, holder, nowMs());
  if (claimed.kind === 'nothing-to-upload') return { kind: 'nothing-to-do' };
  if (claimed.kind === 'lost-race') return claimed;
  const { claim } = claimed;
  const response = await uploader.uploadKeys(claim.body);
  if (!response.ok) {
    releaseClaim(state, holder, nowMs());
    return { kind: 'upload-failed', error: response.error };
  }
  input.afterUpload?.();
  const completed = completeKeysUpload(state, pickleKey, claim, response.value, nowMs());
  if (completed.kind === 'changed') return completed;
  return {
    ...completed,
    uploaded: {
      oneTimeKeys: claim.uploadedOneTimeKeys.length,
      fallbackKeys: claim.uploadedFallbackKeys.length,
      deviceKeys: claim.body.device_keys !== undefined,
    },
  };
}

function requireAccount(state: OlmStateStore): OlmAccountRecord {
  const account = state.readAccount();
  if (account === undefined) throw new Error('no Olm account in the store: call ensureOlmAccount first');
  return account;
}

function keyList(keys: Record<string, string>): string[] {
  return Object.entries(keys).map(([id, key]) => `${id}=${key}`);
}
