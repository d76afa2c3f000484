/**
 * The kit's sender: tagged to-device messages (plaintext, or Olm-encrypted), and Megolm room messages each
 * preceded by the Olm-encrypted `m.room_key` that shares its key, from any device of the test to any other, with
 * the tags returned.
 *
 * Runtime: node. Guarantees the oracle relies on:
 * - each sending device sends strictly one request at a time, in call order, also when a test calls it from
 *   concurrent tasks, so the server receives a device's messages in send order (per-sender order is what a
 *   homeserver keeps, and what "reordered" is measured against);
 * - a message counts as sent only when the server answered 200; a failed request (network error, 429, 5xx) is
 *   retried with the same transaction ID, which the server deduplicates, so a retry never doubles a message;
 *   a request still failing after `maxSendAttempts` throws, and its message is not in the log;
 * - tags are `s<i>-<n>`: i numbers the sending devices of the run in order of first use, n counts that device's
 *   to-device messages from 1. Every tagged message carries `tag` and `sent_at_ms` in its content, inside the Olm
 *   payload when it is encrypted (the server then sees only ciphertext; the log keeps its digest so the oracle
 *   can still tell queued from deleted, kit-ciphertext.ts);
 * - encryption is real: each sending device that encrypts is a matrix-rust-sdk `OlmMachine`
 *   (src/crypto/olm-machine-sender.ts) that publishes its keys, queries the recipient's device and claims one of
 *   its one-time keys, so the recipient must have published Olm keys, as any end-to-end encrypting client does;
 * - a room message goes out only after its key was accepted for every recipient device, so an undecryptable
 *   message always means a key the client lost, never one the sender failed to send. The key travels as an
 *   Olm-encrypted `m.room_key` to every device of the recipients' users that has keys; its tag is
 *   `room-key:<session_id>` (src/shared/delivery-tag.ts), which the client derives from the decrypted content.
 */
import { describeOlmSenderError, OlmMachineSender } from '../crypto/olm-machine-sender';
import type { OlmRequestTransport } from '../crypto/olm-request-loop';
import { DEMO_MESSAGE_TYPE } from '../shared/demo-protocol';
import { OLM_ROOM_KEY_EVENT_TYPE } from '../shared/olm-wire';
import { err, ok } from '../shared/result';
import { ENCRYPTED_EVENT_TYPE } from '../shared/room-key-protocol';
import type { KitDevice } from './kit-accounts';
import { ciphertextDigest } from './kit-ciphertext';
import type { DeviceRef } from './kit-homeserver';
import { KitHttpError, matrixRequest } from './kit-http';
import type { KitRun } from './kit-run';

const maxSendAttempts = 8;
const retryDelayMs = 50;

/** One message the server accepted. */
export interface SentMessage {
  tag: string;
  /** Index of the sending device in this run (the `i` of `s<i>-<n>`). */
  sender: number;
  /** The sending device's n-th to-device message. */
  n: number;
  from: DeviceRef;
  to: DeviceRef;
  /** The event type the client sees: for an encrypted message, the type inside the Olm payload. */
  type: string;
  /** `to-device` for tagged messages, `room-key` for a Megolm key shared before a room message. */
  kind: 'to-device' | 'room-key';
  /** True when the message went out Olm-encrypted (`m.room.encrypted` on the wire). */
  encrypted: boolean;
  /** For an encrypted message, the digest of its ciphertext, as the homeserver inspection reports it for the queued row. */
  ciphertextDigest: string | undefined;
  sentAtMs: number;
}

export interface ToDeviceOptions {
  /** How many messages, each its own request, in order. Default 1. */
  count?: number;
  /** Event type. Default `org.todevice.test`. */
  type?: string;
  /** Extra content for the n-th message of this call (n from 1); `tag` and `sent_at_ms` are always set by the kit. */
  content?: (n: number) => Record<string, unknown>;
  /**
   * Olm-encrypt each message through the sending device's `OlmMachine` (default false). The recipient device must
   * have published its keys; the client sees `type` and the content, tag included, once it decrypted the event.
   */
  encrypted?: boolean;
}

export interface RoomMessagesOptions {
  /** How many room messages. Default 1. Each gets a new Megolm session, so one lost key loses one message. */
  count?: number;
  /** Body of the n-th message (n from 1). Default `message <n>`. */
  body?: (n: number) => string;
}

export interface SentRoomMessage {
  eventId: string;
  sessionId: string;
  /** The tags of the key messages sent before this room message, one per device that got the key. */
  keyTags: string[];
}

export interface KitSender {
  /** Sends tagged to-device messages from `from` to `to`; resolves with their tags in send order. */
  toDevice(from: KitDevice, to: DeviceRef, options?: ToDeviceOptions): Promise<string[]>;
  /** Sends Megolm-encrypted `m.room.message`s into `roomId`, sharing each message's key with `to` first (Olm). */
  roomMessages(from: KitDevice, roomId: string, to: DeviceRef | readonly DeviceRef[], options?: RoomMessagesOptions): Promise<SentRoomMessage[]>;
  /** Every message the server accepted so far, in send order. */
  sent(): readonly SentMessage[];
  /** Releases the sending devices' crypto state. */
  close(): void;
}

/** A to-device message the machine sent (a room key share), accepted by the server and waiting for its tag. */
interface SharedKeyMessage {
  to: DeviceRef;
  ciphertextDigest: string | undefined;
  sentAtMs: number;
}

interface SendingDevice {
  index: number;
  sequence: number;
  /** Tail of this device's send chain: each send waits for the one before it. */
  chain: Promise<unknown>;
  olm: Promise<OlmMachineSender<KitHttpError>> | undefined;
  /** What the machine's transport sent since the last room message; logged once the share's session is known. */
  shared: SharedKeyMessage[];
}

export function kitSender(run: KitRun): KitSender {
  const log: SentMessage[] = [];
  const devices = new Map<string, SendingDevice>();
  const sendingDevice = (from: DeviceRef): SendingDevice => {
    const key = `${from.userId}\u0000${from.deviceId}`;
    let device = devices.get(key);
    if (device === undefined) {
      device = { index: devices.size, sequence: 0, chain: Promise.resolve(), olm: undefined, shared: [] };
      devices.set(key, device);
    }
    return device;
  };
  /** Runs `job` after every earlier job of the same sending device. */
  const inOrder = <T>(device: SendingDevice, job: () => Promise<T>): Promise<T> => {
    const next = device.chain.then(job);
    device.chain = next.catch(() => undefined);
    return next;
  };
  const logMessage = (device: SendingDevice, from: DeviceRef, message: Omit<SentMessage, 'sender' | 'n' | 'from' | 'tag'> & { tag?: string }): string => {
    const n = device.sequence + 1;
    device.sequence = n;
    const tag = message.tag ?? `s${device.index}-${n}`;
    log.push({ ...message, tag, sender: device.index, n, from: { userId: from.userId, deviceId: from.deviceId }, to: { userId: message.to.userId, deviceId: message.to.deviceId } });
    return tag;
  };
  const olmOf = (from: KitDevice, device: SendingDevice): Promise<OlmMachineSender<KitHttpError>> => {
    device.olm ??= OlmMachineSender.create({ userId: from.userId, deviceId: from.deviceId, transport: olmTransport(from, device) }).then((created) => {
      if (!created.ok) throw new Error(`todevice kit: ${from.userId}/${from.deviceId} could not publish its Olm keys: ${describeOlmSenderError(created.error, describeKitError)}`);
      return created.value;
    });
    // A failed start is not kept: the next call tries again.
    device.olm.catch(() => (device.olm = undefined));
    return device.olm;
  };
  const sendTagged = async (from: KitDevice, to: DeviceRef, type: string, extra: Record<string, unknown>, encrypted: boolean): Promise<string> => {
    const device = sendingDevice(from);
    const tag = `s${device.index}-${device.sequence + 1}`;
    const sentAtMs = Date.now();
    const content = { ...extra, tag, sent_at_ms: sentAtMs };
    let wireType = type;
    let wireContent: Record<string, unknown> = content;
    if (encrypted) {
      const olm = await olmOf(from, device);
      const sealed = await olm.encryptToDevice(to, type, content);
      if (!sealed.ok) throw new Error(`todevice kit: cannot encrypt for ${to.userId}/${to.deviceId}: ${describeOlmSenderError(sealed.error, describeKitError)}`);
      wireType = ENCRYPTED_EVENT_TYPE;
      wireContent = sealed.value;
    }
    const txnId = `kit-${run.startedAtMs}-${tag}`;
    await retried(() =>
      matrixRequest(from.homeserverUrl, 'PUT', `/_matrix/client/v3/sendToDevice/${encodeURIComponent(wireType)}/${encodeURIComponent(txnId)}`, {
        accessToken: from.accessToken,
        body: { messages: { [to.userId]: { [to.deviceId]: wireContent } } },
      }),
    );
    return logMessage(device, from, { tag, to, type, kind: 'to-device', encrypted, ciphertextDigest: encrypted ? ciphertextDigest(wireContent) : undefined, sentAtMs });
  };

  return {
    toDevice: (from, to, options = {}) => {
      const count = positiveInteger('count', options.count ?? 1);
      const type = options.type ?? DEMO_MESSAGE_TYPE;
      return inOrder(sendingDevice(from), async () => {
        const tags: string[] = [];
        for (let n = 1; n <= count; n += 1) tags.push(await sendTagged(from, to, type, options.content?.(n) ?? {}, options.encrypted === true));
        return tags;
      });
    },
    roomMessages: (from, roomId, to, options = {}) => {
      const count = positiveInteger('count', options.count ?? 1);
      const recipients = Array.isArray(to) ? (to as readonly DeviceRef[]) : [to as DeviceRef];
      if (recipients.length === 0) throw new Error('todevice kit: roomMessages needs at least one recipient device');
      const device = sendingDevice(from);
      return inOrder(device, async () => {
        const olm = await olmOf(from, device);
        const sent: SentRoomMessage[] = [];
        for (let n = 1; n <= count; n += 1) {
          device.shared = [];
          const message = await olm.encryptRoomMessage(roomId, recipients, 'm.room.message', { msgtype: 'm.text', body: options.body?.(n) ?? `message ${n}` });
          const shared = device.shared;
          device.shared = [];
          if (!message.ok) throw new Error(`todevice kit: cannot share a room key: ${describeOlmSenderError(message.error, describeKitError)}`);
          const keyTag = message.value.keyTag;
          const keyTags =
            keyTag === null
              ? []
              : shared.map((share) => logMessage(device, from, { ...share, tag: keyTag, type: OLM_ROOM_KEY_EVENT_TYPE, kind: 'room-key', encrypted: true }));
          const txnId = `kit-${run.startedAtMs}-room-s${device.index}-${message.value.sessionId}`;
          const body = await retried(() =>
            matrixRequest(from.homeserverUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${message.value.type}/${encodeURIComponent(txnId)}`, {
              accessToken: from.accessToken,
              body: message.value.content,
            }),
          );
          sent.push({ eventId: String(body.event_id), sessionId: message.value.sessionId, keyTags });
        }
        return sent;
      });
    },
    sent: () => [...log],
    close: () => {
      for (const device of devices.values()) void device.olm?.then((olm) => olm.close()).catch(() => undefined);
    },
  };
}

/**
 * The sending device's `OlmMachine` talks to the homeserver through the kit's own requests (retried like every
 * other send). The to-device messages it sends are room key shares; each accepted one is kept for the log.
 */
function olmTransport(from: KitDevice, device: SendingDevice): OlmRequestTransport<KitHttpError> {
  const asResult = async <T>(send: () => Promise<T>) => {
    try {
      return ok(await send());
    } catch (error) {
      if (error instanceof KitHttpError) return err(error);
      return err(new KitHttpError(0, undefined, error instanceof Error ? error.message : String(error)));
    }
  };
  return {
    keysRequest: (endpoint, body) =>
      asResult(() => retried(() => matrixRequest(from.homeserverUrl, 'POST', `/_matrix/client/v3/keys/${endpoint}`, { accessToken: from.accessToken, body }))),
    sendToDevice: async (eventType, txnId, messages) => {
      const sentAtMs = Date.now();
      const sent = await asResult(() =>
        retried(() =>
          matrixRequest(from.homeserverUrl, 'PUT', `/_matrix/client/v3/sendToDevice/${encodeURIComponent(eventType)}/${encodeURIComponent(txnId)}`, {
            accessToken: from.accessToken,
            body: { messages },
          }),
        ),
      );
      if (!sent.ok) return sent;
      for (const [userId, byDevice] of Object.entries(messages)) {
        for (const [deviceId, content] of Object.entries(byDevice)) device.shared.push({ to: { userId, deviceId }, ciphertextDigest: ciphertextDigest(content), sentAtMs });
      }
      return ok(undefined);
    },
  };
}

function describeKitError(error: KitHttpError): string {
  return error.message;
}

/** Retries network errors, 429 and 5xx with the same request (and so the same transaction ID). */
async function retried<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (error) {
      const retryable = !(error instanceof KitHttpError) || error.status === 429 || error.status >= 500;
      if (!retryable || attempt >= maxSendAttempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
    }
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`todevice kit: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}
