/**
 * The kit's sender: tagged to-device messages, and Megolm room messages each preceded by the to-device message
 * that shares its key, from any device of the test to any other, with the tags returned.
 *
 * Runtime: node. Guarantees the oracle relies on:
 * - each sending device sends strictly one request at a time, in call order, also when a test calls it from
 *   concurrent tasks, so the server receives a device's messages in send order (per-sender order is what a
 *   homeserver keeps, and what "reordered" is measured against);
 * - a message counts as sent only when the server answered 200; a failed request (network error, 429, 5xx) is
 *   retried with the same transaction ID, which the server deduplicates, so a retry never doubles a message;
 *   a request still failing after `maxSendAttempts` throws, and its message is not in the log;
 * - tags are `s<i>-<n>`: i numbers the sending devices of the run in order of first use, n counts that device's
 *   to-device messages from 1. Every message carries `tag` and `sent_at_ms` in its content;
 * - a room message goes out only after its key was accepted for every recipient device, so an undecryptable
 *   message always means a key the client lost, never one the sender failed to send. The key travels as
 *   `org.todevice.room_key` (src/shared/room-key-protocol.ts), not Olm-encrypted: a client under test needs a
 *   handler for that type to use it, or reads only the tags.
 */
import type { RoomEncryptor } from '../crypto/room-encryptor';
import { DEMO_MESSAGE_TYPE } from '../shared/demo-protocol';
import { ROOM_KEY_EVENT_TYPE } from '../shared/room-key-protocol';
import type { KitDevice } from './kit-accounts';
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
  type: string;
  /** `to-device` for plain tagged messages, `room-key` for a Megolm key shared before a room message. */
  kind: 'to-device' | 'room-key';
  sentAtMs: number;
}

export interface ToDeviceOptions {
  /** How many messages, each its own request, in order. Default 1. */
  count?: number;
  /** Event type. Default `org.todevice.test`. */
  type?: string;
  /** Extra content for the n-th message of this call (n from 1); `tag` and `sent_at_ms` are always set by the kit. */
  content?: (n: number) => Record<string, unknown>;
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
  /** The tags of the key messages, one per recipient device, sent before this room message. */
  keyTags: string[];
}

export interface KitSender {
  /** Sends tagged to-device messages from `from` to `to`; resolves with their tags in send order. */
  toDevice(from: KitDevice, to: DeviceRef, options?: ToDeviceOptions): Promise<string[]>;
  /** Sends Megolm-encrypted `m.room.message`s into `roomId`, sharing each message's key with `to` first. */
  roomMessages(from: KitDevice, roomId: string, to: DeviceRef | readonly DeviceRef[], options?: RoomMessagesOptions): Promise<SentRoomMessage[]>;
  /** Every message the server accepted so far, in send order. */
  sent(): readonly SentMessage[];
  /** Releases the Megolm sessions' crypto state. */
  close(): void;
}

interface SendingDevice {
  index: number;
  sequence: number;
  /** Tail of this device's send chain: each send waits for the one before it. */
  chain: Promise<unknown>;
  encryptor: Promise<RoomEncryptor> | undefined;
}

export function kitSender(run: KitRun): KitSender {
  const log: SentMessage[] = [];
  const devices = new Map<string, SendingDevice>();
  const sendingDevice = (from: DeviceRef): SendingDevice => {
    const key = `${from.userId}\u0000${from.deviceId}`;
    let device = devices.get(key);
    if (device === undefined) {
      device = { index: devices.size, sequence: 0, chain: Promise.resolve(), encryptor: undefined };
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
  const sendOne = async (from: KitDevice, to: DeviceRef, type: string, kind: SentMessage['kind'], extra: Record<string, unknown>): Promise<string> => {
    const device = sendingDevice(from);
    const n = device.sequence + 1;
    const tag = `s${device.index}-${n}`;
    const sentAtMs = Date.now();
    const messages = { [to.userId]: { [to.deviceId]: { ...extra, tag, sent_at_ms: sentAtMs } } };
    const txnId = `kit-${run.startedAtMs}-${tag}`;
    await retried(() =>
      matrixRequest(from.homeserverUrl, 'PUT', `/_matrix/client/v3/sendToDevice/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`, {
        accessToken: from.accessToken,
        body: { messages },
      }),
    );
    device.sequence = n;
    log.push({ tag, sender: device.index, n, from: { userId: from.userId, deviceId: from.deviceId }, to: { userId: to.userId, deviceId: to.deviceId }, type, kind, sentAtMs });
    return tag;
  };

  return {
    toDevice: (from, to, options = {}) => {
      const count = positiveInteger('count', options.count ?? 1);
      const type = options.type ?? DEMO_MESSAGE_TYPE;
      return inOrder(sendingDevice(from), async () => {
        const tags: string[] = [];
        for (let n = 1; n <= count; n += 1) tags.push(await sendOne(from, to, type, 'to-device', options.content?.(n) ?? {}));
        return tags;
      });
    },
    roomMessages: (from, roomId, to, options = {}) => {
      const count = positiveInteger('count', options.count ?? 1);
      const recipients = Array.isArray(to) ? (to as readonly DeviceRef[]) : [to as DeviceRef];
      const device = sendingDevice(from);
      return inOrder(device, async () => {
        device.encryptor ??= import('../crypto/room-encryptor').then(({ RoomEncryptor }) => RoomEncryptor.create({ userId: from.userId, deviceId: from.deviceId }));
        const encryptor = await device.encryptor;
        const sent: SentRoomMessage[] = [];
        for (let n = 1; n <= count; n += 1) {
          const message = await encryptor.encrypt(roomId, 'm.room.message', { msgtype: 'm.text', body: options.body?.(n) ?? `message ${n}` });
          const keyTags: string[] = [];
          if (message.newRoomKey !== undefined) {
            for (const recipient of recipients) keyTags.push(await sendOne(from, recipient, ROOM_KEY_EVENT_TYPE, 'room-key', { room_key: message.newRoomKey }));
          }
          const txnId = `kit-${run.startedAtMs}-room-s${device.index}-${message.sessionId}`;
          const body = await retried(() =>
            matrixRequest(from.homeserverUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${message.type}/${encodeURIComponent(txnId)}`, {
              accessToken: from.accessToken,
              body: message.content,
            }),
          );
          sent.push({ eventId: String(body.event_id), sessionId: message.sessionId, keyTags });
        }
        return sent;
      });
    },
    sent: () => [...log],
    close: () => {
      for (const device of devices.values()) void device.encryptor?.then((encryptor) => encryptor.close()).catch(() => undefined);
    },
  };
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
