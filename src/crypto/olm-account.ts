/**
 * The device's Olm account as libolm holds it: creation, unpickling with the pickle key, signing, and the keys it
 * publishes (signed device keys, signed one-time keys, the signed fallback key).
 *
 * Runtime: node / electron-utility, after `loadOlm()`. Everything is synchronous and works on pickles: a caller
 * unpickles, acts, pickles and frees within one call (`withAccount`), so a libolm object never outlives the
 * transaction that read its pickle. Guarantees:
 * - A pickle that the pickle key does not open is an expected error (`OlmPickleError`, kind `bad-pickle-key`),
 *   with a one-line message and no key material in it. libolm checks the pickle's MAC before anything else, so a
 *   damaged pickle looks the same as a wrong key; only text that is not even base64 is `corrupt-pickle`.
 * - Signatures are ed25519 over canonical JSON of the object without `signatures` and `unsigned` (the spec's
 *   "Signing JSON"). ed25519 signatures are deterministic, so the same pickle always yields the same signed keys,
 *   byte for byte: a re-upload after a crash is identical to the first.
 */
import { canonicalJson, signedPart } from '../shared/canonical-json';
import type { DeviceKeys, SignedCurve25519Key, Signatures } from '../shared/olm-wire';
import { MEGOLM_ALGORITHM_V1, OLM_ALGORITHM, SIGNED_CURVE25519 } from '../shared/olm-wire';
import { freeAll, olm, type OlmAccount } from './olm-library';
import type { PickleKey } from './pickle-key';

/** Who this device is, with its public identity keys. */
export interface OlmIdentity {
  userId: string;
  deviceId: string;
  curve25519: string;
  ed25519: string;
}

export type OlmPickleErrorKind = 'bad-pickle-key' | 'corrupt-pickle';

/** A pickle that cannot be opened. Thrown inside transactions (which then roll back); never holds secrets. */
export class OlmPickleError extends Error {
  readonly kind: OlmPickleErrorKind;

  constructor(kind: OlmPickleErrorKind, what: string) {
    super(
      kind === 'bad-pickle-key'
        ? `the ${what} in the store does not open with this pickle key (a pickle key from another data directory, or a damaged store)`
        : `the ${what} in the store is not a libolm pickle`,
    );
    this.name = 'OlmPickleError';
    this.kind = kind;
  }
}

/** Maps a libolm unpickle failure to `OlmPickleError`; other errors pass through. */
export function unpickleError(error: unknown, what: string): unknown {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('BAD_ACCOUNT_KEY')) return new OlmPickleError('bad-pickle-key', what);
  if (/CORRUPTED_PICKLE|INVALID_BASE64|UNKNOWN_PICKLE_VERSION|BAD_LEGACY_ACCOUNT_PICKLE/.test(message)) return new OlmPickleError('corrupt-pickle', what);
  return error;
}

export function unpickleAccount(pickle: string, key: PickleKey): OlmAccount {
  const account = new (olm().Account)();
  try {
    account.unpickle(key.forOlm(), pickle);
    return account;
  } catch (error) {
    account.free();
    throw unpickleError(error, 'Olm account');
  }
}

/**
 * Runs `work` on the unpickled account and frees it. `work` returns whether it changed the account; the new
 * pickle is returned only then.
 */
export function withAccount<T>(pickle: string, key: PickleKey, work: (account: OlmAccount) => T): T {
  const account = unpickleAccount(pickle, key);
  try {
    return work(account);
  } finally {
    account.free();
  }
}

/** A fresh account: its pickle and its public identity keys. No one-time keys yet. */
export function createAccount(key: PickleKey): { pickle: string; curve25519: string; ed25519: string } {
  const account = new (olm().Account)();
  try {
    account.create();
    const keys = identityKeys(account);
    return { pickle: account.pickle(key.forOlm()), ...keys };
  } finally {
    account.free();
  }
}

export function identityKeys(account: OlmAccount): { curve25519: string; ed25519: string } {
  const keys = JSON.parse(account.identity_keys()) as { curve25519: string; ed25519: string };
  return { curve25519: keys.curve25519, ed25519: keys.ed25519 };
}

/** Adds our signature to `object` (over its canonical JSON without `signatures` and `unsigned`). */
export function signJson<T extends Record<string, unknown>>(
  account: OlmAccount,
  identity: Pick<OlmIdentity, 'userId' | 'deviceId'>,
  object: T,
): T & { signatures: Signatures } {
  const signature = account.sign(canonicalJson(signedPart(object)));
  const existing = (object.signatures ?? {}) as Record<string, Record<string, string>>;
  const mine = { ...(existing[identity.userId] ?? {}), [`ed25519:${identity.deviceId}`]: signature };
  return { ...object, signatures: { ...existing, [identity.userId]: mine } };
}

/** Whether `object` carries a valid signature by `ed25519` under `userId` / `ed25519:keyId`. */
export function verifyJsonSignature(object: Record<string, unknown>, userId: string, keyId: string, ed25519: string): boolean {
  const signature = (object.signatures as Record<string, Record<string, unknown>> | undefined)?.[userId]?.[`ed25519:${keyId}`];
  if (typeof signature !== 'string') return false;
  let canonical: string;
  try {
    canonical = canonicalJson(signedPart(object));
  } catch {
    return false;
  }
  const utility = new (olm().Utility)();
  try {
    utility.ed25519_verify(ed25519, canonical, signature);
    return true;
  } catch {
    return false;
  } finally {
    freeAll(utility);
  }
}

/** The device keys as `/keys/upload` takes them, signed. */
export function signedDeviceKeys(account: OlmAccount, identity: Pick<OlmIdentity, 'userId' | 'deviceId'>): DeviceKeys {
  const keys = identityKeys(account);
  const unsigned = {
    algorithms: [OLM_ALGORITHM, MEGOLM_ALGORITHM_V1],
    device_id: identity.deviceId,
    keys: { [`curve25519:${identity.deviceId}`]: keys.curve25519, [`ed25519:${identity.deviceId}`]: keys.ed25519 },
    user_id: identity.userId,
  };
  return signJson(account, identity, unsigned) as DeviceKeys;
}

/** The one-time keys not yet marked published, signed, as `signed_curve25519:ID` → key. */
export function signedOneTimeKeys(account: OlmAccount, identity: Pick<OlmIdentity, 'userId' | 'deviceId'>): Record<string, SignedCurve25519Key> {
  const keys = unpublishedOneTimeKeys(account);
  const signed: Record<string, SignedCurve25519Key> = {};
  for (const [id, key] of Object.entries(keys)) {
    signed[`${SIGNED_CURVE25519}:${id}`] = signJson(account, identity, { key }) as SignedCurve25519Key;
  }
  return signed;
}

/** The fallback key not yet marked published, signed (with `fallback: true`); empty when there is none. */
export function signedFallbackKeys(account: OlmAccount, identity: Pick<OlmIdentity, 'userId' | 'deviceId'>): Record<string, SignedCurve25519Key> {
  const keys = (JSON.parse(account.unpublished_fallback_key()) as { curve25519: Record<string, string> }).curve25519;
  const signed: Record<string, SignedCurve25519Key> = {};
  for (const [id, key] of Object.entries(keys)) {
    signed[`${SIGNED_CURVE25519}:${id}`] = signJson(account, identity, { key, fallback: true as const }) as SignedCurve25519Key;
  }
  return signed;
}

export function unpublishedOneTimeKeys(account: OlmAccount): Record<string, string> {
  return (JSON.parse(account.one_time_keys()) as { curve25519: Record<string, string> }).curve25519;
}

export function unpublishedFallbackKey(account: OlmAccount): Record<string, string> {
  return (JSON.parse(account.unpublished_fallback_key()) as { curve25519: Record<string, string> }).curve25519;
}
