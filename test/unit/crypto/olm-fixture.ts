// Test helpers for the Olm code: our device in a temporary store (account created, keys published to a fake
// server that records every upload), and a libolm peer device that sends it Olm-encrypted to-device events.
import { canonicalJson, signedPart } from '../../../src/shared/canonical-json';
import type { OlmDeviceRecord, OlmStateStore } from '../../../src/shared/olm-state';
import type { KeysClaimResponse, KeysUploadRequest, KeysUploadResponse, SignedCurve25519Key } from '../../../src/shared/olm-wire';
import { OLM_ALGORITHM, SIGNED_CURVE25519 } from '../../../src/shared/olm-wire';
import type { Result } from '../../../src/shared/result';
import { err, ok } from '../../../src/shared/result';
import type { ToDeviceEvent } from '../../../src/shared/wire';
import { identityKeys, signedDeviceKeys, type OlmIdentity } from '../../../src/crypto/olm-account';
import { ensureOlmAccount, publishKeys, type KeysUploader } from '../../../src/crypto/olm-keys';
import { loadOlm, olm, type OlmAccount, type OlmSession } from '../../../src/crypto/olm-library';
import { PickleKey } from '../../../src/crypto/pickle-key';
import { saveOlmDevice } from '../../../src/store/olm-devices';
import { openOlmState } from '../../../src/store/olm-state';
import type { ClientStore } from '../../../src/store/open-store';
import { tempStore } from '../store/temp-store';

export const OUR_USER = '@bob:localhost';
export const OUR_DEVICE = 'BOBDEVICE';

/** A fake `/keys/upload`: records each body as sent (its JSON text) and answers with the counts it now holds. */
export class FakeKeysServer implements KeysUploader<{ kind: 'network'; message: string }> {
  readonly uploads: string[] = [];
  readonly oneTimeKeys = new Map<string, SignedCurve25519Key>();
  readonly fallbackKeys = new Map<string, SignedCurve25519Key>();
  /** When set, the next upload is processed and then answered with a network error (the answer is lost). */
  loseNextAnswer = false;
  /** When set, called after an upload was processed and before the answer; may throw to simulate a crash. */
  afterProcessing: (() => void) | undefined;
  /** When set, the upload waits for this promise before it is processed. */
  gate: Promise<void> | undefined;

  async uploadKeys(body: KeysUploadRequest): Promise<Result<KeysUploadResponse, { kind: 'network'; message: string }>> {
    if (this.gate !== undefined) await this.gate;
    this.uploads.push(JSON.stringify(body));
    for (const [id, key] of Object.entries(body.one_time_keys ?? {})) {
      const held = this.oneTimeKeys.get(id);
      if (held !== undefined && JSON.stringify(held) !== JSON.stringify(key)) throw new Error(`one-time key ${id} re-uploaded with other content`);
      this.oneTimeKeys.set(id, key);
    }
    for (const [id, key] of Object.entries(body.fallback_keys ?? {})) this.fallbackKeys.set(id, key);
    this.afterProcessing?.();
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      return err({ kind: 'network', message: 'connection reset after the server processed the upload' });
    }
    return ok({ one_time_key_counts: { [SIGNED_CURVE25519]: this.oneTimeKeys.size } });
  }

  /** Hands out (and forgets) one one-time key, as `/keys/claim` does; the fallback key when none is left. */
  claim(userId = OUR_USER, deviceId = OUR_DEVICE): KeysClaimResponse {
    const first = this.oneTimeKeys.entries().next();
    if (!first.done) {
      const [id, key] = first.value;
      this.oneTimeKeys.delete(id);
      return { one_time_keys: { [userId]: { [deviceId]: { [id]: key } } }, failures: {} };
    }
    const fallback = [...this.fallbackKeys.entries()].at(-1);
    if (fallback === undefined) return { one_time_keys: {}, failures: {} };
    return { one_time_keys: { [userId]: { [deviceId]: { [fallback[0]]: fallback[1] } } }, failures: {} };
  }
}

export interface OurDevice {
  store: ClientStore;
  state: OlmStateStore;
  pickleKey: PickleKey;
  identity: OlmIdentity;
  server: FakeKeysServer;
}

/** Our device: a store with an account whose keys were published to `server`. */
export async function ourDevice(options: { store?: ClientStore; pickleKey?: PickleKey; publish?: boolean } = {}): Promise<OurDevice> {
  await loadOlm();
  const store = options.store ?? tempStore();
  const state = openOlmState(store);
  const pickleKey = options.pickleKey ?? PickleKey.generate();
  const ensured = ensureOlmAccount(state, pickleKey, { userId: OUR_USER, deviceId: OUR_DEVICE }, 1000);
  if (!ensured.ok) throw new Error(ensured.error.message);
  const server = new FakeKeysServer();
  if (options.publish !== false) {
    const outcome = await publishKeys({ state, pickleKey, uploader: server, holder: 'main', nowMs: () => 1000 });
    if (outcome.kind !== 'published') throw new Error(`publishKeys: ${outcome.kind}`);
  }
  return { store, state, pickleKey, identity: ensured.value, server };
}

/** A libolm device of another user that sends us Olm messages. */
export class LibolmPeer {
  readonly account: OlmAccount;
  readonly curve25519: string;
  readonly ed25519: string;
  private readonly sessions = new Map<string, OlmSession>();

  constructor(
    readonly userId = '@alice:localhost',
    readonly deviceId = 'ALICEDEVICE',
  ) {
    this.account = new (olm().Account)();
    this.account.create();
    const keys = identityKeys(this.account);
    this.curve25519 = keys.curve25519;
    this.ed25519 = keys.ed25519;
  }

  record(nowMs = 1000): OlmDeviceRecord {
    return { userId: this.userId, deviceId: this.deviceId, curve25519: this.curve25519, ed25519: this.ed25519, updatedAtMs: nowMs };
  }

  /** Puts this device into `store`'s device keys, as a `/keys/query` would. */
  makeKnownTo(store: ClientStore): void {
    saveOlmDevice(store, this.record());
  }

  deviceKeys(): Record<string, unknown> {
    return signedDeviceKeys(this.account, this) as unknown as Record<string, unknown>;
  }

  /** Starts an outbound session to `recipient` with a key from a claim (replacing any session to it). */
  startSession(recipient: OlmIdentity, claim: KeysClaimResponse): OlmSession {
    const keys = claim.one_time_keys[recipient.userId]?.[recipient.deviceId] ?? {};
    const key = Object.values(keys)[0] as { key: string } | undefined;
    if (key === undefined) throw new Error('the claim holds no key');
    const session = new (olm().Session)();
    session.create_outbound(this.account, recipient.curve25519, key.key);
    this.sessions.get(recipient.curve25519)?.free();
    this.sessions.set(recipient.curve25519, session);
    return session;
  }

  session(recipient: OlmIdentity): OlmSession {
    const session = this.sessions.get(recipient.curve25519);
    if (session === undefined) throw new Error('no session to this recipient: startSession first');
    return session;
  }

  /** An `m.room.encrypted` to-device event for `recipient`; `payload` overrides fields of the Olm payload. */
  encrypt(recipient: OlmIdentity, type: string, content: Record<string, unknown>, payload: Record<string, unknown> = {}): ToDeviceEvent {
    const plaintext = {
      type,
      content,
      sender: this.userId,
      recipient: recipient.userId,
      recipient_keys: { ed25519: recipient.ed25519 },
      keys: { ed25519: this.ed25519 },
      ...payload,
    };
    const message = this.session(recipient).encrypt(JSON.stringify(plaintext));
    return {
      type: 'm.room.encrypted',
      sender: this.userId,
      content: { algorithm: OLM_ALGORITHM, sender_key: this.curve25519, ciphertext: { [recipient.curve25519]: { type: message.type, body: message.body } } },
    };
  }

  /** Decrypts a message from `recipient` (so the peer's next messages are normal, type 1). */
  receive(from: OlmIdentity, content: Record<string, unknown>): Record<string, unknown> {
    const ciphertext = (content.ciphertext as Record<string, { type: number; body: string }>)[this.curve25519];
    if (ciphertext === undefined) throw new Error('no ciphertext for this peer');
    const session = this.sessions.get(from.curve25519);
    if (session !== undefined && (ciphertext.type === 1 || session.matches_inbound(ciphertext.body))) {
      return JSON.parse(session.decrypt(ciphertext.type, ciphertext.body)) as Record<string, unknown>;
    }
    const inbound = new (olm().Session)();
    inbound.create_inbound_from(this.account, from.curve25519, ciphertext.body);
    this.account.remove_one_time_keys(inbound);
    this.sessions.get(from.curve25519)?.free();
    this.sessions.set(from.curve25519, inbound);
    return JSON.parse(inbound.decrypt(ciphertext.type, ciphertext.body)) as Record<string, unknown>;
  }

  /** Publishes signed one-time keys of this peer, as a claim answer for it. */
  claimAnswer(count = 1): KeysClaimResponse {
    this.account.generate_one_time_keys(count);
    const keys = (JSON.parse(this.account.one_time_keys()) as { curve25519: Record<string, string> }).curve25519;
    this.account.mark_keys_as_published();
    const signed: Record<string, unknown> = {};
    for (const [id, key] of Object.entries(keys)) {
      const object = { key };
      signed[`${SIGNED_CURVE25519}:${id}`] = { key, signatures: { [this.userId]: { [`ed25519:${this.deviceId}`]: this.account.sign(canonicalJson(signedPart(object))) } } };
    }
    return { one_time_keys: { [this.userId]: { [this.deviceId]: signed } }, failures: {} };
  }

  free(): void {
    for (const session of this.sessions.values()) session.free();
    this.account.free();
  }
}

/** The pickles of the store's Olm tables, to compare byte for byte. */
export function olmPickles(store: ClientStore): { account: string; sessions: string[] } {
  const account = (store.db.prepare('SELECT pickle FROM olm_account').get() as { pickle: string } | undefined)?.pickle ?? '';
  const sessions = (store.db.prepare('SELECT pickle FROM olm_sessions ORDER BY sender_key, session_id').all() as Array<{ pickle: string }>).map((row) => row.pickle);
  return { account, sessions };
}
