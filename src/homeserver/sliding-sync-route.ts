/**
 * Simplified sliding sync (`POST .../org.matrix.simplified_msc3575/sync` and the older `.../msc3575/sync`) with
 * the MSC3885 `to_device` extension, also answered under MSC4538's `org.matrix.msc4538.to_device`, and the
 * MSC3884 `e2ee` extension (see e2ee-sync-fields.ts).
 *
 * Runtime: node (homeserver only).
 *
 * Order of a request, chosen so that a rejected request has no effect at all:
 * 1. authenticate; an injected `error` fault answers now (nothing acknowledged), unless the request only asks for
 *    rooms (`isRoomListOnly`: faults are for the device's to-device sync);
 * 2. validate everything (`timeout`, body, extension fields, `pos`, `since`), still read-only;
 * 3. in one transaction: open or continue the connection, store the sticky settings and, when the extension is
 *    enabled, acknowledge `since`;
 * 4. maybe long poll;
 * 5. in one transaction: take a to-device batch (when enabled) and issue the new `pos`, so the batch recorded as
 *    delivered and the `pos` that follows it commit together. The `pos` is stateless (sliding-sync-pos.ts):
 *    issuing it writes nothing, so a to-device answer writes only the device's delivery record; everything
 *    the connection keeps is written in step 3. A request about to wait computes the `pos` its answer will
 *    most likely carry before it waits (`PosIssuer`), and the to-device section is written as text with the
 *    stored contents spliced in unparsed (json-text.ts): a woken answer runs on the sender's path, so it does
 *    no work there that could be done before or not at all. Then a `drop-response` or `delay` fault may apply
 *    to the computed response.
 * Step 5 shares a transaction, and so an fsync, with whatever precedes it: with step 3 when the request does not
 * wait (no long poll, or messages already queued after `since`, which is every request of a client draining a
 * backlog), and with the sender's when a message wakes the long poll (see device-waiters.ts). Either way the
 * acknowledgement, the batch and the `pos` are durable together or not at all, and a crash in between leaves
 * the client's `since` valid for a retry.
 * The `e2ee` extension (`extensions.e2ee.enabled`, sticky like `to_device`) is computed in step 5's transaction,
 * against the device list position the request's `pos` stands for; the new `pos` stands for the position it
 * was computed at. A long poll with the extension enabled returns at once when a device list change is already
 * pending, and is woken by one made while it waits (see device-waiters.ts).
 * `pos` and `timeout` are query parameters, as in Synapse. A request without `pos` starts a new connection and
 * returns at once. Lists, room subscriptions and the `account_data`, `receipts` and `typing` extensions are
 * answered by sliding-sync-rooms.ts, inside the same transactions (its sticky subscriptions in step 3, its
 * answer and records in step 5); a request with none of them does no room work at all, and lists it cannot
 * read are answered with their count rather than failing. A room-side request's long poll also ends when
 * something changes on the room side for the user, and does not wait when there is already news.
 */
import { E2EE_EXTENSION, SLIDING_SYNC_PATH, SLIDING_SYNC_PATH_MSC3575, TO_DEVICE_EXTENSION, TO_DEVICE_EXTENSION_MSC4538 } from '../shared/wire';
import type { ToDeviceExtensionResponse } from '../shared/wire';
import type { Requester } from './auth';
import type { HomeserverContext } from './context';
import { sleep } from './dispatcher';
import { e2eeSyncFields, hasDeviceListChanges } from './e2ee-sync-fields';
import { badJson, invalidParam } from './errors';
import { isJsonObject, objectBody, optionalBoolean, optionalObject, optionalString, type JsonObject } from './json-checks';
import type { Reply, Route, RouteRequest } from './router';
import { NEW_CONNECTION, PosIssuer, type ConnectionState, type CurrentPositions, type PosBase } from './sliding-sync-connections';
import { parseSlidingRoomsBody, SlidingSyncRooms, wantsRooms, type SlidingRoomsAnswer } from './sliding-sync-rooms';
import { JsonText, objectWithJsonText } from './json-text';
import { acknowledgeSince, takeToDeviceText, waitForToDevice, type PullOptions } from './to-device-pull';
import { parseLimit, parseTimeoutMs, verifySince } from './to-device-since';
import { acknowledgeSynapseSince, parseSynapseToDevice, takeSynapseToDevice, type SynapseToDeviceRequest } from './synapse-to-device';
import { immediate } from './db';
import { currentPositions } from './room-positions';

const EXTENSION_KEYS = [TO_DEVICE_EXTENSION, TO_DEVICE_EXTENSION_MSC4538] as const;

/** The `to_device` extension request after validation; `keys` are the extension keys this request used. */
interface ToDeviceParams {
  keys: string[];
  enabled: boolean | undefined;
  limit: number | undefined;
  since: string | undefined;
}

/** What one request asks of its extensions. */
interface ExtensionParams {
  toDevice: ToDeviceParams;
  e2eeEnabled: boolean | undefined;
  /** Under `--compat synapse`: the extension as Synapse reads it (synapse-to-device.ts), nothing sticky. */
  synapse: SynapseToDeviceRequest | undefined;
}

export function slidingSyncRoutes(ctx: HomeserverContext): Route[] {
  const rooms = new SlidingSyncRooms(ctx);
  const handle = (request: RouteRequest) => slidingSync(ctx, rooms, request);
  return [
    { method: 'POST', pattern: SLIDING_SYNC_PATH, hasBody: true, handle },
    { method: 'POST', pattern: SLIDING_SYNC_PATH_MSC3575, hasBody: true, handle },
  ];
}

async function slidingSync(ctx: HomeserverContext, rooms: SlidingSyncRooms, request: RouteRequest): Promise<Reply | undefined> {
  const me = ctx.auth.authenticate(request);
  const faultsApply = !isRoomListOnly(ctx, me, request);
  if (faultsApply) ctx.faults.throwIfErrorFault(me.userId, me.deviceId);
  const timeoutMs = parseTimeoutMs(request.query.get('timeout'));
  const pos = request.query.get('pos');
  const body = objectBody(request.body);
  const connId = optionalString(body, 'conn_id') ?? '';
  const params = parseExtensionParams(optionalObject(body, 'extensions') ?? {}, ctx.compat === 'synapse');
  const roomsBody = parseSlidingRoomsBody(body);
  const known = pos === null ? undefined : ctx.connections.lookup(me.userId, me.deviceId, connId, pos, currentFor(ctx, me));
  const base: PosBase = known ?? NEW_CONNECTION;
  const issuer = new PosIssuer(ctx.connections, me.userId, me.deviceId, base);
  const synapse = params.synapse;
  const sinceStreamId =
    synapse !== undefined
      ? synapse.since === undefined ? undefined : Math.max(synapse.since.streamId, 0)
      : params.toDevice.since === undefined
        ? undefined
        : verifySince(ctx.tokens, ctx.queue, 'to-device', params.toDevice.since, me.userId, me.deviceId);
  // The device list position the client already knows; a new connection knows none.
  const fromDeviceLists = known?.deviceListStreamId;

  const longPollMs = pos === null ? 0 : timeoutMs;
  const opened = immediate(ctx.db, () => {
    const merged = mergeSticky(known?.state ?? ctx.connections.open(me.userId, me.deviceId, connId), params);
    ctx.connections.saveSticky(merged, base.seq);
    const roomSide = wantsRooms(roomsBody, merged) ? rooms.begin(me, roomsBody, merged, base) : undefined;
    const options: PullOptions | undefined = merged.toDeviceEnabled
      ? {
          kind: 'to-device',
          sinceStreamId,
          limit: merged.toDeviceLimit ?? ctx.batchCap,
          longPollMs,
          signal: request.signal,
          wakeOnKeyChanges: merged.e2eeEnabled,
        }
      : undefined;
    if (options !== undefined && synapse !== undefined) acknowledgeSynapseSince(ctx, me, synapse);
    else if (options !== undefined) acknowledgeSince(ctx, me, options);
    const roomNews = roomSide?.answer();
    const keyNews = merged.e2eeEnabled && hasDeviceListChanges(ctx, me, fromDeviceLists);
    const wait = mustWait(ctx, me, options, longPollMs) && roomNews?.hasNews !== true && !keyNews;
    const reply = wait ? undefined : answer(ctx, me, merged, issuer, options, synapse, fromDeviceLists, roomNews, faultsApply);
    return { state: merged, pull: options, roomSide, reply };
  });
  if (opened.reply !== undefined) return opened.reply;
  const { state, pull, roomSide } = opened;
  if (pull !== undefined && roomSide === undefined) issuer.prime(state, ctx.deviceLists.position());
  // A room-side request also wakes for room-side changes; a to-device-only one waits exactly as before.
  const watch = roomSide === undefined ? undefined : ctx.userWaiters.watch(me.userId);
  const wakeSignal = watch === undefined ? request.signal : AbortSignal.any([request.signal, watch.signal]);
  let prepared: Reply | undefined;
  try {
    if (pull !== undefined) {
      const waitOptions = watch === undefined ? pull : { ...pull, signal: wakeSignal };
      const waited = await waitForToDevice(ctx, me, waitOptions, () =>
        answer(ctx, me, state, issuer, pull, synapse, fromDeviceLists, roomSide?.answer(), faultsApply),
      );
      prepared = waited?.prepared;
    } else if (longPollMs > 0 && state.e2eeEnabled) {
      // Without to-device, a key change it would report (or a room-side change) ends the poll early.
      const wakeOn = { toDevice: false, keyChanges: true };
      await ctx.waiters.waitToTake(me.userId, me.deviceId, longPollMs, wakeSignal, undefined, wakeOn);
    } else if (longPollMs > 0) {
      // Nothing else this server tracks for sliding sync can change, so such a poll just waits.
      await sleep(longPollMs, wakeSignal);
    }
  } finally {
    watch?.stop();
  }
  if (request.signal.aborted) return undefined;
  return prepared ?? answer(ctx, me, state, issuer, pull, synapse, fromDeviceLists, roomSide?.answer(), faultsApply);
}

/** The stream positions a request's `pos` may not be ahead of (sliding-sync-connections.ts). */
function currentFor(ctx: HomeserverContext, me: Requester): CurrentPositions {
  return { deviceListStreamId: ctx.deviceLists.position(), rooms: () => currentPositions(ctx, me.userId) };
}

/** Whether step 4 waits: a long poll with nothing queued after `since` (or without to-device at all). */
function mustWait(ctx: HomeserverContext, me: Requester, pull: PullOptions | undefined, longPollMs: number): boolean {
  if (longPollMs === 0) return false;
  return pull === undefined || !ctx.queue.hasEventsAfter(me.userId, me.deviceId, pull.sinceStreamId ?? 0);
}

/** Step 5, in a transaction of its own or, nested, in the caller's (see the module header). */
function answer(
  ctx: HomeserverContext,
  me: Requester,
  state: ConnectionState,
  issuer: PosIssuer,
  pull: PullOptions | undefined,
  synapse: SynapseToDeviceRequest | undefined,
  fromDeviceLists: number | undefined,
  roomNews: SlidingRoomsAnswer | undefined,
  faultsApply: boolean,
): Reply {
  return immediate(ctx.db, () => {
    let toDevice: ToDeviceExtensionResponse | JsonText | undefined;
    if (pull !== undefined && synapse !== undefined) toDevice = takeSynapseToDevice(ctx, me, synapse);
    else if (pull !== undefined) toDevice = takeToDeviceText(ctx, me, pull);
    return respond(ctx, me, state, issuer, toDevice, fromDeviceLists, roomNews, faultsApply);
  });
}

function respond(
  ctx: HomeserverContext,
  me: Requester,
  state: ConnectionState,
  issuer: PosIssuer,
  toDevice: ToDeviceExtensionResponse | JsonText | undefined,
  fromDeviceLists: number | undefined,
  roomNews: SlidingRoomsAnswer | undefined,
  faultsApply: boolean,
): Reply {
  const deviceListPosition = ctx.deviceLists.position();
  // A to-device-only answer sends nothing of the room side: the client still stands where its `pos` stood.
  const roomSeq = roomNews?.record() ?? issuer.base.roomSeq;
  const roomPositions = roomNews?.positions ?? issuer.base.roomPositions;
  const pos = issuer.issue(state, { roomSeq, deviceListStreamId: deviceListPosition, roomPositions });
  // A `SlidingSyncResponse` (shared/wire.ts), written as text: the to-device section arrives as JSON text.
  const extensions: Record<string, unknown> = { ...roomNews?.extensions };
  if (toDevice !== undefined) {
    for (const key of state.toDeviceKeys) extensions[key] = toDevice;
  }
  if (state.e2eeEnabled) extensions.e2ee = e2eeSyncFields(ctx, me, fromDeviceLists, deviceListPosition);
  const response = objectWithJsonText({
    pos,
    lists: roomNews?.lists ?? {},
    rooms: roomNews?.rooms ?? {},
    extensions: objectWithJsonText(extensions),
  });
  return { status: 200, body: response, fault: faultsApply ? ctx.faults.responseFault(me.userId, me.deviceId) : undefined };
}

/**
 * Whether a request only asks for rooms: it names lists or room subscriptions, names no extension, and continues
 * no connection with `to_device` or `e2ee` enabled, so it can deliver neither to-device messages nor device list
 * changes. Injected sync faults (faults.ts) are meant for a device's to-device sync; a room-list connection of
 * the same device (todevice's main process follows its rooms on one) must not spend them. Read-only and it never
 * throws, so an `error` fault still answers before any validation.
 */
function isRoomListOnly(ctx: HomeserverContext, me: Requester, request: RouteRequest): boolean {
  const body = request.body;
  if (!isJsonObject(body)) return false;
  if (body.extensions !== undefined && !(isJsonObject(body.extensions) && Object.keys(body.extensions).length === 0)) return false;
  const named = (value: unknown): boolean => isJsonObject(value) && Object.keys(value).length > 0;
  if (!named(body.lists) && !named(body.room_subscriptions)) return false;
  if (request.query.get('pos') === null) return true;
  return !ctx.connections.deliversToDevice(me.userId, me.deviceId, typeof body.conn_id === 'string' ? body.conn_id : '');
}

function parseExtensionParams(extensions: JsonObject, synapseCompat: boolean): ExtensionParams {
  const e2ee = optionalObject(extensions, E2EE_EXTENSION);
  const e2eeEnabled = e2ee === undefined ? undefined : optionalBoolean(e2ee, 'enabled');
  if (!synapseCompat) return { toDevice: parseToDeviceParams(extensions), e2eeEnabled, synapse: undefined };
  const synapse = parseSynapseToDevice(extensions);
  return {
    toDevice: { keys: [TO_DEVICE_EXTENSION], enabled: synapse.enabled, limit: synapse.limit, since: undefined },
    // Synapse keeps no extension settings between requests: absent means off.
    e2eeEnabled: e2eeEnabled ?? false,
    synapse,
  };
}

/**
 * Reads the extension under either key. When a client sends both, they describe one request: a field given
 * under both keys must agree, else 400 `M_INVALID_PARAM`.
 */
function parseToDeviceParams(extensions: JsonObject): ToDeviceParams {
  const params: ToDeviceParams = { keys: [], enabled: undefined, limit: undefined, since: undefined };
  for (const key of EXTENSION_KEYS) {
    const raw = extensions[key];
    if (raw === undefined || raw === null) continue;
    if (!isJsonObject(raw)) throw badJson(`"extensions.${key}" must be an object`);
    const since = raw.since === null ? undefined : raw.since;
    if (since !== undefined && typeof since !== 'string') throw invalidParam(`"extensions.${key}.since" must be a string`);
    const fields = { enabled: optionalBoolean(raw, 'enabled'), limit: parseLimit(raw.limit), since };
    params.keys.push(key);
    params.enabled = agree(params.enabled, fields.enabled, 'enabled');
    params.limit = agree(params.limit, fields.limit, 'limit');
    params.since = agree(params.since, fields.since, 'since');
  }
  return params;
}

function agree<T>(current: T | undefined, next: T | undefined, field: string): T | undefined {
  if (current !== undefined && next !== undefined && current !== next) {
    throw invalidParam(`"${field}" differs between the two to-device extension keys`);
  }
  return next ?? current;
}

/**
 * MSC3885 stickiness: values in this request replace the connection's, absent ones keep them. Under
 * `--compat synapse` every value is given (parseExtensionParams), so nothing carries over.
 */
function mergeSticky(state: ConnectionState, params: ExtensionParams): ConnectionState {
  const toDevice = params.toDevice;
  return {
    connectionId: state.connectionId,
    connId: state.connId,
    posNonce: state.posNonce,
    toDeviceEnabled: toDevice.enabled ?? state.toDeviceEnabled,
    toDeviceLimit: toDevice.limit ?? state.toDeviceLimit,
    toDeviceKeys: toDevice.keys.length > 0 ? toDevice.keys : state.toDeviceKeys,
    e2eeEnabled: params.e2eeEnabled ?? state.e2eeEnabled,
    roomSubscriptions: state.roomSubscriptions,
    lastUsedMs: state.lastUsedMs,
  };
}
