/**
 * The contract between the Olm code (src/crypto) and where the device's Olm state lives (src/store's SQLite
 * tables of migration 0004, or a process's own memory for the legacy strategies).
 *
 * Runtime: common (types only, plus the list of failure reasons). The layers forbid src/store to import
 * src/crypto and src/crypto to import SQLite, so both meet here: src/store implements `OlmStateStore` over the
 * shared database (src/store/olm-state.ts), src/crypto decrypts and manages keys through it, and the process
 * that wires them hands the result to the commit as its `transformEvents`. Every method is synchronous, because
 * it runs inside the commit's `BEGIN IMMEDIATE` transaction.
 *
 * Pickles are opaque strings here: libolm encrypts them with the pickle key before they reach the store, and
 * nothing on this side of the contract can read them. Never log a record that holds one.
 */
import type { ToDeviceEvent } from './wire';

export interface OlmAccountRecord {
  userId: string;
  deviceId: string;
  /** The account's public identity keys, kept beside the pickle so lookups need no unpickling. */
  curve25519: string;
  ed25519: string;
  /** The libolm account pickle (encrypted with the pickle key). Holds the unpublished one-time keys too. */
  pickle: string;
  /** Grows by one on every write; `compareAndSetAccount` writes only at the version its caller read. */
  version: number;
  /** Whether the server has acknowledged an upload of the device keys. */
  deviceKeysPublished: boolean;
  /** When the current fallback key was generated; null before the first one. */
  fallbackKeyCreatedAtMs: number | null;
  /** When the previous fallback key, kept after a rotation for pre-key messages still in flight, is forgotten. */
  previousFallbackExpiresAtMs: number | null;
  /** The process that claimed the current key upload, and until when the claim holds (a crashed claimant's lapses). */
  uploadClaimedBy: string | null;
  uploadClaimExpiresAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export type OlmAccountChanges = Partial<
  Pick<
    OlmAccountRecord,
    'pickle' | 'deviceKeysPublished' | 'fallbackKeyCreatedAtMs' | 'previousFallbackExpiresAtMs' | 'uploadClaimedBy' | 'uploadClaimExpiresAtMs'
  >
>;

/** One Olm session with one sender device, identified by the device's curve25519 key. */
export interface OlmSessionRecord {
  senderKey: string;
  sessionId: string;
  /** The libolm session pickle (encrypted with the pickle key). */
  pickle: string;
  createdAtMs: number;
  lastUsedAtMs: number;
  messagesReceived: number;
  messagesSent: number;
}

/** Another device's identity keys as `/keys/query` returned them (its self-signature checked). */
export interface OlmDeviceRecord {
  userId: string;
  deviceId: string;
  curve25519: string;
  ed25519: string;
  updatedAtMs: number;
}

/** What the server last said about our keys (`/keys/upload` answer or a sync's counts). */
export interface OlmKeyCounts {
  oneTimeKeyCounts: Record<string, number>;
  /** The key types that have an unused fallback key; null when the server did not say. */
  unusedFallbackKeyTypes: string[] | null;
  reportedAtMs: number;
}

/** A sender device whose messages fail with a session error, and what was done about it. */
export interface OlmWedgedRecord {
  senderKey: string;
  userId: string;
  deviceId: string;
  reason: string;
  failures: number;
  firstFailedAtMs: number;
  lastFailedAtMs: number;
  lastDummySentAtMs: number | null;
  dummiesSent: number;
}

/** Why a to-device `m.room.encrypted` stayed encrypted in the inbox. */
export const OLM_DECRYPTION_FAILURES = [
  /** Not an object of the Olm shape, or the plaintext is not a JSON payload. */
  'malformed',
  /** `m.room.encrypted` with an algorithm other than Olm v1. */
  'unsupported-algorithm',
  /** No ciphertext for our curve25519 key, or the payload names another recipient or other recipient keys. */
  'wrong-recipient',
  /** The payload's `sender` or `keys.ed25519` does not match the event's sender device. */
  'wrong-sender',
  /** No device of the sender with this curve25519 key is known (from `/keys/query`); kept for a retry. */
  'unknown-device',
  /** A normal (type 1) message and no session with the sender key. */
  'no-session',
  /** Every session failed to authenticate the message (libolm `BAD_MESSAGE_MAC`). */
  'bad-mac',
  /** A pre-key message whose one-time key this account no longer holds (libolm `BAD_MESSAGE_KEY_ID`). */
  'one-time-key-gone',
  /** The same Olm message was decrypted before (its message key is spent): a duplicate delivery. */
  'replayed',
  /** Any other libolm error (the detail is not kept: it may quote key material). */
  'olm-error',
] as const;

export type OlmDecryptionFailure = (typeof OLM_DECRYPTION_FAILURES)[number];

/** What a decrypted inbox row says about its encryption. */
export interface ToDeviceEncryptionInfo {
  algorithm: string;
  /** The sender device's curve25519 key the Olm session authenticated. */
  sender_key: string;
  session_id: string;
  sender_device_id: string;
  /** The sender device's ed25519 key, checked against `/keys/query` and the payload's `keys`. */
  sender_ed25519: string;
}

/** A row to append to the inbox: a to-device event, decrypted or with the reason it is not. */
export interface InboxEventInput extends ToDeviceEvent {
  decryptionError?: OlmDecryptionFailure;
  encryption?: ToDeviceEncryptionInfo;
}

/** The Olm state of one device, read and written inside the caller's transaction. */
export interface OlmStateStore {
  /** Runs `work` in a `BEGIN IMMEDIATE` transaction, or a savepoint of the one already open. */
  immediate<T>(work: () => T): T;
  readAccount(): OlmAccountRecord | undefined;
  /** Inserts the first account; false (and nothing written) when one exists. */
  insertAccount(record: OlmAccountRecord): boolean;
  /** Writes `changes` and bumps the version, only if the version is still `expectedVersion`. */
  compareAndSetAccount(expectedVersion: number, changes: OlmAccountChanges, nowMs: number): boolean;
  /** The sessions with one sender key, most recently used first. */
  sessionsFor(senderKey: string): OlmSessionRecord[];
  saveSession(record: OlmSessionRecord): void;
  deviceByCurve25519(userId: string, curve25519: string): OlmDeviceRecord | undefined;
  device(userId: string, deviceId: string): OlmDeviceRecord | undefined;
  saveDevice(record: OlmDeviceRecord): void;
  readKeyCounts(): OlmKeyCounts | undefined;
  writeKeyCounts(counts: OlmKeyCounts): void;
  isMessageKnown(senderKey: string, messageHash: string): boolean;
  /** Remembers the hashes of messages of `senderKey` decrypted in one pass. */
  rememberMessages(senderKey: string, messageHashes: readonly string[], nowMs: number): void;
  /** Adds `count` (one when not given) to the counter of `outcome` (`decrypted`, a failure reason, `dummy-sent`, …). */
  countOutcome(outcome: string, nowMs: number, count?: number): void;
  readWedged(senderKey: string): OlmWedgedRecord | undefined;
  saveWedged(record: OlmWedgedRecord): void;
  listWedged(): OlmWedgedRecord[];
}

/** A process's whole copy of the Olm state, as the legacy strategies load it at start and write it back. */
export interface OlmSnapshot {
  account: OlmAccountRecord | undefined;
  sessions: OlmSessionRecord[];
}
