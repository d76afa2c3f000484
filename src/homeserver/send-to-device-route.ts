/**
 * `PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}`.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees (Synapse behaviour, DESIGN.md §3):
 * - Idempotent per (sending user, sending device, event type, txnId): the transaction record and the queued
 *   messages commit together, so a retry after a lost response returns 200 `{}` and queues nothing, and a crash
 *   cannot leave one without the other. The record is kept for a window (30 minutes, as Synapse's transaction
 *   cache; src/homeserver/retention.ts), after which the same txnId is a new request.
 * - `"*"` as a device key means every device of that user. Unknown users and devices are dropped silently with
 *   200, as Synapse does (the sender cannot know which devices exist right now).
 * - Messages are queued in the order of the request body, after everything queued before, so per-sender order
 *   is kept.
 * - Content over 65536 bytes (as UTF-8 JSON) gets 413 `M_TOO_LARGE` and nothing is queued.
 * - Requests ready in the same turn of the event loop commit in one transaction (group commit,
 *   to-device-group-commit.ts): concurrent senders share an fsync, and each request still commits or fails
 *   alone (its own savepoint) and is answered only after the commit that holds it.
 * - Waiting long polls of the recipient devices take their batch inside the same transaction (the message and
 *   the batch that delivers it share one fsync; see device-waiters.ts) and are woken only after the commit.
 * - Recipients are answered before the sender: the 200 waits one turn of the event loop, in which every woken
 *   long poll writes its response. A message's delivery is on the path of every to-device message, the
 *   sender's 200 only on the sender's (it was durable before either was written).
 */
import type { HomeserverContext } from './context';
import { badJson, invalidParam, tooLarge } from './errors';
import { isJsonObject, objectBody, type JsonObject } from './json-checks';
import type { Route, RouteRequest } from './router';
import { ToDeviceGroupCommit } from './to-device-group-commit';
import type { QueuedMessage } from './to-device-queue';

export const MAX_TO_DEVICE_CONTENT_BYTES = 65536;
const MAX_ID_LENGTH = 255;

export function sendToDeviceRoutes(ctx: HomeserverContext): Route[] {
  const listDevices = ctx.db.prepare('SELECT device_id FROM devices WHERE user_id = ? ORDER BY device_id');
  const findDevice = ctx.db.prepare('SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?');
  // One statement both checks and records the transaction: a retry finds the record and changes nothing.
  const recordTxn = ctx.db.prepare(
    `INSERT INTO transactions (user_id, device_id, scope, txn_id, result, created_ts) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id, device_id, scope, txn_id) DO NOTHING`,
  );
  const group = new ToDeviceGroupCommit(ctx.db, ctx.queue, ctx.waiters);
  const devicesOf = (userId: string): string[] =>
    (listDevices.all(userId) as Array<{ device_id: string }>).map((row) => row.device_id);
  const devices: DeviceLookup = { all: devicesOf, has: (userId, deviceId) => findDevice.get(userId, deviceId) !== undefined };

  const handle = async (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const eventType = request.params.eventType ?? '';
    const txnId = request.params.txnId ?? '';
    if (eventType.length > MAX_ID_LENGTH || txnId.length > MAX_ID_LENGTH) {
      throw invalidParam('event type and transaction ID must be at most 255 characters');
    }
    const messages = parseMessages(objectBody(request.body));
    const scope = `sendToDevice/${eventType}`;
    await group.submit(() => {
      if (recordTxn.run(me.userId, me.deviceId, scope, txnId, '{}', Date.now()).changes === 0) return [];
      return expand(messages, devices, eventType, me.userId);
    });
    return { status: 200, body: {} };
  };

  return [{ method: 'PUT', pattern: '/_matrix/client/v3/sendToDevice/:eventType/:txnId', hasBody: true, handle }];
}

/** Content as sent, and as the JSON text it was measured by (stored as it is, not serialised again). */
interface Content {
  value: JsonObject;
  json: string;
}

type Messages = Array<[userId: string, Array<[deviceKey: string, content: Content]>]>;

/** Validates `messages` completely before anything is queued. */
function parseMessages(body: JsonObject): Messages {
  const messages = body.messages;
  if (!isJsonObject(messages)) throw badJson('"messages" must be an object of user ID → device ID → content');
  return Object.entries(messages).map(([userId, byDevice]) => {
    if (!isJsonObject(byDevice)) throw badJson(`"messages.${userId}" must be an object of device ID → content`);
    const devices = Object.entries(byDevice).map(([deviceKey, content]): [string, Content] => {
      if (!isJsonObject(content)) throw badJson(`content for ${userId} ${deviceKey} must be an object`);
      const json = JSON.stringify(content);
      if (Buffer.byteLength(json, 'utf8') > MAX_TO_DEVICE_CONTENT_BYTES) {
        throw tooLarge(`to-device content over ${MAX_TO_DEVICE_CONTENT_BYTES} bytes`);
      }
      return [deviceKey, { value: content, json }];
    });
    return [userId, devices];
  });
}

/** How `expand` finds devices: all of a user's (for `"*"`), or whether one exists (one primary-key lookup). */
interface DeviceLookup {
  all(userId: string): string[];
  has(userId: string, deviceId: string): boolean;
}

/**
 * One queued message per existing target device; `"*"` expands to all of the user's devices. A named device is
 * looked up by itself, so a message to one device costs the same whether its user has one device or 10,000.
 */
function expand(messages: Messages, devices: DeviceLookup, type: string, sender: string): QueuedMessage[] {
  const queued: QueuedMessage[] = [];
  for (const [userId, byDevice] of messages) {
    let everyDevice: string[] | undefined;
    for (const [deviceKey, content] of byDevice) {
      const targets = deviceKey === '*' ? (everyDevice ??= devices.all(userId)) : devices.has(userId, deviceKey) ? [deviceKey] : [];
      for (const deviceId of targets) queued.push({ userId, deviceId, type, sender, content: content.value, contentJson: content.json });
    }
  }
  return queued;
}
