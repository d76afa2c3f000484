/**
 * A sending device with real end-to-end encryption: matrix-rust-sdk's `OlmMachine` (vodozemac, in WebAssembly,
 * in-memory store) that publishes its own keys, looks up the recipient's device through `/keys/query`, claims one
 * of its one-time keys through `/keys/claim`, shares each Megolm room key as an Olm-encrypted `m.room_key`
 * (`shareRoomKey`), encrypts the room messages (`encryptRoomEvent`), and Olm-encrypts any to-device message.
 *
 * Runtime: node. Guarantees:
 * - Nothing goes out in plaintext: a recipient device with no published keys is `recipient-has-no-keys`, one whose
 *   keys give no Olm session (no one-time key and no fallback key left to claim) is `no-olm-session`, and in both
 *   cases nothing is sent and the room message is not encrypted (the caller must not send it).
 * - A room key is sent, and accepted by the server, before the message it unlocks is encrypted and returned; its
 *   delivery tag is `room-key:<session_id>` (src/shared/delivery-tag.ts), the tag the receiver derives from the
 *   decrypted `m.room_key`. A share whose sending failed is discarded (`invalidateGroupSession`), so a retry shares
 *   a new session rather than encrypting with one the recipient may not have.
 * - Every room message starts a new Megolm session by default (`rotateEveryMessages` 1), so one lost key costs
 *   exactly one message. `withholdKey` shares the new session with nobody: the message is undecryptable on purpose.
 * - Calls are serialised: one machine, one request at a time, so Olm messages reach the server in the order they
 *   were encrypted (an Olm session's messages must be sent in order).
 * State lives in the machine's memory: a restarted sender is a new device identity with new sessions, as a real
 * client that lost its store would be. Secrets (keys, access tokens) are never logged.
 */
import { roomKeyTag } from '../shared/delivery-tag';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import { ENCRYPTED_EVENT_TYPE } from '../shared/room-key-protocol';
import { loadCryptoLibrary, type CryptoLibrary } from './crypto-library';
import { flushOutgoingRequests, sendMachineRequest, type MachineRequest, type OlmMachine, type OlmRequestError, type OlmRequestTransport } from './olm-request-loop';

export interface OlmRecipient {
  userId: string;
  deviceId: string;
}

export type OlmSenderError<E> =
  | OlmRequestError<E>
  | { kind: 'recipient-has-no-keys'; userId: string; deviceId: string }
  | { kind: 'no-olm-session'; userId: string; deviceId: string; reason: string };

export interface OlmSenderOptions<E> {
  /** The user and device the transport's access token belongs to (the server checks the uploaded device keys). */
  userId: string;
  deviceId: string;
  transport: OlmRequestTransport<E>;
  /** Start a new Megolm session after this many messages in a room. Default 1: every message its own key. */
  rotateEveryMessages?: number;
}

export interface OlmEncryptedRoomMessage {
  type: typeof ENCRYPTED_EVENT_TYPE;
  content: Record<string, unknown>;
  sessionId: string;
  /** The tag of the room key this message's share sent (`room-key:<session_id>`); null when none was sent. */
  keyTag: string | null;
}

/** One line for an error, without any secret. */
export function describeOlmSenderError<E>(error: OlmSenderError<E>, describeTransport: (error: E) => string): string {
  switch (error.kind) {
    case 'request-failed':
      return `${error.request} failed: ${describeTransport(error.error)}`;
    case 'unsupported-request':
      return `the crypto library asked for a request this sender does not make (${error.request})`;
    case 'not-settled':
      return `the crypto library still had requests to send after ${error.rounds} rounds`;
    case 'recipient-has-no-keys':
      return `${error.userId} device ${error.deviceId} has published no encryption keys (see /keys/query), so nothing can be encrypted for it`;
    case 'no-olm-session':
      return `no Olm session with ${error.userId} device ${error.deviceId}: ${error.reason}`;
  }
}

export class OlmMachineSender<E> {
  private readonly messagesInSession = new Map<string, number>();
  private readonly trackedUsers = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly library: CryptoLibrary,
    private readonly machine: OlmMachine,
    private readonly transport: OlmRequestTransport<E>,
    private readonly rotateEveryMessages: number,
  ) {}

  /** Creates the machine and publishes its device keys and one-time keys (`/keys/upload`). */
  static async create<E>(options: OlmSenderOptions<E>): Promise<Result<OlmMachineSender<E>, OlmRequestError<E>>> {
    const rotate = options.rotateEveryMessages ?? 1;
    if (!Number.isInteger(rotate) || rotate < 1) throw new Error(`rotateEveryMessages must be a positive integer, got ${rotate}`);
    const library = await loadCryptoLibrary();
    const machine = (await library.OlmMachine.initialize(new library.UserId(options.userId), new library.DeviceId(options.deviceId))) as OlmMachine;
    const published = await flushOutgoingRequests(library, machine, options.transport);
    if (!published.ok) {
      machine.close();
      return published;
    }
    return ok(new OlmMachineSender(library, machine, options.transport, rotate));
  }

  /** This device's curve25519 identity key (public), as the recipient sees it in `sender_key`. */
  get curve25519Key(): string {
    return this.machine.identityKeys.curve25519.toBase64();
  }

  /**
   * Encrypts one room event for `recipient` (one device, or several). When the message starts a session, the
   * session's key is first sent to the recipients' users' devices as an Olm-encrypted `m.room_key` (unless
   * `withholdKey`); every recipient device named must get it, or nothing is encrypted.
   */
  encryptRoomMessage(
    roomId: string,
    recipient: OlmRecipient | readonly OlmRecipient[],
    eventType: string,
    content: Record<string, unknown>,
    options: { withholdKey?: boolean } = {},
  ): Promise<Result<OlmEncryptedRoomMessage, OlmSenderError<E>>> {
    const recipients = Array.isArray(recipient) ? (recipient as readonly OlmRecipient[]) : [recipient as OlmRecipient];
    if (recipients.length === 0) throw new Error('encryptRoomMessage needs at least one recipient device');
    return this.serialised(() => this.encryptRoomMessageNow(roomId, recipients, eventType, content, options.withholdKey === true));
  }

  /** The `m.room.encrypted` (Olm) content that carries `eventType`/`content` to `recipient`'s device. */
  encryptToDevice(recipient: OlmRecipient, eventType: string, content: Record<string, unknown>): Promise<Result<Record<string, unknown>, OlmSenderError<E>>> {
    return this.serialised(() => this.encryptToDeviceNow(recipient, eventType, content));
  }

  close(): void {
    this.machine.close();
  }

  private serialised<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async encryptRoomMessageNow(
    roomId: string,
    recipients: readonly OlmRecipient[],
    eventType: string,
    content: Record<string, unknown>,
    withholdKey: boolean,
  ): Promise<Result<OlmEncryptedRoomMessage, OlmSenderError<E>>> {
    const { library, machine } = this;
    const room = new library.RoomId(roomId);
    const used = this.messagesInSession.get(roomId);
    const starting = used === undefined || used >= this.rotateEveryMessages;
    let keySent = false;
    if (starting) {
      if (used !== undefined) await machine.invalidateGroupSession(room);
      this.messagesInSession.delete(roomId);
      const shared = withholdKey ? await this.shareWithNobody(room) : await this.shareWith(room, recipients);
      if (!shared.ok) return shared;
      keySent = !withholdKey;
    }
    this.messagesInSession.set(roomId, starting ? 1 : (used ?? 0) + 1);
    const encrypted = JSON.parse(await machine.encryptRoomEvent(room, eventType, JSON.stringify(content))) as Record<string, unknown>;
    const sessionId = encrypted.session_id;
    if (typeof sessionId !== 'string') throw new Error('encryptRoomEvent returned content without session_id');
    return ok({ type: ENCRYPTED_EVENT_TYPE, content: encrypted, sessionId, keyTag: keySent ? roomKeyTag(sessionId) : null });
  }

  /** Creates the room's outbound session without sending its key to anyone. */
  private async shareWithNobody(room: InstanceType<CryptoLibrary['RoomId']>): Promise<Result<void, OlmSenderError<E>>> {
    const requests = (await this.machine.shareRoomKey(room, [], new this.library.EncryptionSettings())) as MachineRequest[];
    if (requests.length !== 0) throw new Error(`shareRoomKey with no users produced ${requests.length} requests`);
    return ok(undefined);
  }

  /** Shares the room's new session with the recipients' users' devices; every recipient device must get the Olm key. */
  private async shareWith(room: InstanceType<CryptoLibrary['RoomId']>, recipients: readonly OlmRecipient[]): Promise<Result<void, OlmSenderError<E>>> {
    for (const recipient of recipients) {
      const session = await this.ensureOlmSession(recipient);
      if (!session.ok) return session;
    }
    const { library, machine } = this;
    const users = [...new Set(recipients.map((recipient) => recipient.userId))].map((userId) => new library.UserId(userId));
    const requests = (await machine.shareRoomKey(room, users, new library.EncryptionSettings())) as MachineRequest[];
    for (const recipient of recipients) {
      const forRecipient = requests.filter((request) => messagesFor(request, recipient) !== undefined);
      if (forRecipient.some((request) => request.event_type === ENCRYPTED_EVENT_TYPE)) continue;
      await machine.invalidateGroupSession(room);
      const withheld = forRecipient.find((request) => request.event_type !== ENCRYPTED_EVENT_TYPE);
      const reason = withheld === undefined ? 'the crypto library shared the key with other devices only' : `the crypto library would send ${withheld.event_type}`;
      return err({ kind: 'no-olm-session', ...recipient, reason });
    }
    for (const request of requests) {
      const sent = await sendMachineRequest(library, machine, this.transport, request);
      if (!sent.ok) {
        await machine.invalidateGroupSession(room);
        return sent;
      }
    }
    return ok(undefined);
  }

  private async encryptToDeviceNow(recipient: OlmRecipient, eventType: string, content: Record<string, unknown>): Promise<Result<Record<string, unknown>, OlmSenderError<E>>> {
    const session = await this.ensureOlmSession(recipient);
    if (!session.ok) return session;
    const device = await this.machine.getDevice(new this.library.UserId(recipient.userId), new this.library.DeviceId(recipient.deviceId));
    if (device === undefined) return err({ kind: 'recipient-has-no-keys', ...recipient });
    try {
      return ok(JSON.parse(await device.encryptToDeviceEvent(eventType, content)) as Record<string, unknown>);
    } catch (error) {
      return err({ kind: 'no-olm-session', ...recipient, reason: error instanceof Error ? error.message : String(error) });
    }
  }

  /**
   * Makes sure the machine knows the recipient device's keys and has an Olm session with it: tracks the user
   * (`/keys/query`), queries again when the device is not known (it may have published its keys since), and
   * claims a one-time key for every device of the user without a session (`/keys/claim`).
   */
  private async ensureOlmSession(recipient: OlmRecipient): Promise<Result<void, OlmSenderError<E>>> {
    const { library, machine } = this;
    const userId = new library.UserId(recipient.userId);
    if (!this.trackedUsers.has(recipient.userId)) {
      await machine.updateTrackedUsers([userId.clone()]);
      this.trackedUsers.add(recipient.userId);
    } else if ((await machine.getDevice(userId.clone(), new library.DeviceId(recipient.deviceId))) === undefined) {
      // As a sync's `device_lists.changed` would: the machine queries the user again.
      await machine.receiveSyncChanges('[]', new library.DeviceLists([userId.clone()], []), new Map(), undefined);
    }
    const queried = await flushOutgoingRequests(library, machine, this.transport);
    if (!queried.ok) return queried;
    if ((await machine.getDevice(userId.clone(), new library.DeviceId(recipient.deviceId))) === undefined) return err({ kind: 'recipient-has-no-keys', ...recipient });
    // No claim to make is `undefined` in the typings and `null` at run time.
    const claim = (await machine.getMissingSessions([userId.clone()])) as MachineRequest | null | undefined;
    if (claim === undefined || claim === null) return ok(undefined);
    return sendMachineRequest(library, machine, this.transport, claim);
  }
}

/** The content a to-device request carries for `recipient`'s device, if any. */
function messagesFor(request: MachineRequest, recipient: OlmRecipient): Record<string, unknown> | undefined {
  if (request.event_type === undefined) return undefined;
  const body = JSON.parse(request.body) as { messages?: Record<string, Record<string, Record<string, unknown>>> };
  return body.messages?.[recipient.userId]?.[recipient.deviceId];
}
