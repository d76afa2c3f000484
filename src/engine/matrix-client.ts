/**
 * A small Matrix Client-Server API client: the requests todevice's processes make, over node:http with
 * keep-alive (node-http-fetch.ts) unless a `fetch` is injected.
 *
 * Runtime: node. Every method returns a `Result`; expected failures are values (see http.ts), so the sync engine
 * and the CLI decide what to do with them. The sync engine only needs `SyncTransport` (the two sync methods),
 * which tests fake; the rest serves the CLI, the notifier and the harness.
 *
 * Sliding sync follows Synapse: `pos` and `timeout` are query parameters, the body carries `conn_id` and the
 * MSC3885 `to_device` extension `{enabled, limit, since}`. We send `enabled` and `limit` on every request, which
 * works with servers that treat them as sticky (MSC3885) and with those that do not (Synapse). The room list
 * (`slidingSyncRoomList`, for the main process's timeline) is a request of its own on another connection: one
 * list and no extension, so it never touches the device's to-device stream.
 */
import type {
  KeysClaimRequest,
  KeysClaimResponse,
  KeysQueryRequest,
  KeysQueryResponse,
  KeysUploadRequest,
  KeysUploadResponse,
} from '../shared/olm-wire';
import { parseKeysClaimResponse, parseKeysQueryResponse, parseKeysUploadResponse } from '../shared/olm-wire';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import type { LoginResponse, RoomEvent } from '../shared/wire';
import { SLIDING_SYNC_PATH } from '../shared/wire';
import { requestJson, type FetchLike, type JsonRequest, type MatrixClientError } from './http';
import { nodeHttpFetch } from './node-http-fetch';
import { parseClassicSync, parseSlidingSyncToDevice, type SlidingToDeviceBatch, type ToDeviceBatch } from './sync-responses';

export type { MatrixClientError } from './http';

/** The `/keys/*` endpoints a crypto library's outgoing requests go to. */
export type KeysEndpoint = 'upload' | 'query' | 'claim' | 'signatures/upload';

export interface SlidingToDeviceRequest {
  connId: string;
  pos?: string;
  /** Long-poll timeout the server may wait for new data (0 answers at once). */
  timeoutMs: number;
  toDevice: { enabled: true; limit: number; since?: string };
  /** Also ask for the MSC3884 `e2ee` extension (one-time key counts, device list changes). */
  e2ee?: boolean;
  signal?: AbortSignal;
  /** Called when the server's answer started arriving (the `after-request-sent` kill point). */
  onRequestSent?: () => void;
  /** Called once the request is written out and the answer awaited (idle time), if the transport can tell. */
  onRequestWritten?: () => void;
}

/** A sliding sync request for one room list and nothing else (no extension): see `slidingSyncRoomList`. */
export interface SlidingRoomListRequest {
  connId: string;
  pos?: string;
  /** The inclusive index range of the list whose rooms the answer carries. */
  range: [number, number];
}

export interface SlidingRoomList {
  pos: string;
  /** How many rooms the list holds, whatever the range. */
  count: number;
  /**
   * The rooms the answer carries (on a new connection every room in the range; after that those with something
   * new, a changed membership included), with the user's membership in each when the answer says it.
   */
  rooms: Array<{ roomId: string; membership: string | undefined }>;
}

export interface ClassicSyncRequest {
  since?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  onRequestSent?: () => void;
  onRequestWritten?: () => void;
}

/** What the sync engine needs from the network; `MatrixClient` implements it, unit tests fake it. */
export interface SyncTransport {
  slidingSyncToDevice(request: SlidingToDeviceRequest): Promise<Result<SlidingToDeviceBatch, MatrixClientError>>;
  classicSync(request: ClassicSyncRequest): Promise<Result<ToDeviceBatch, MatrixClientError>>;
}

export interface MatrixClientOptions {
  baseUrl: string;
  accessToken?: string;
  /** The transport. Default `nodeHttpFetch`; tests inject fakes, and the global `fetch` fits too. */
  fetch?: FetchLike;
  /** Ceiling for ordinary requests. Default 30 s. Sync requests get their long-poll timeout plus this. */
  requestTimeoutMs?: number;
}

const V3 = '/_matrix/client/v3';

export class MatrixClient implements SyncTransport {
  readonly baseUrl: string;
  readonly accessToken: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly requestTimeoutMs: number;

  constructor(options: MatrixClientOptions) {
    this.baseUrl = options.baseUrl;
    this.accessToken = options.accessToken;
    this.fetchImpl = options.fetch ?? nodeHttpFetch;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** The same client authenticated with `accessToken` (after login or registration). */
  withAccessToken(accessToken: string): MatrixClient {
    return new MatrixClient({ baseUrl: this.baseUrl, accessToken, fetch: this.fetchImpl, requestTimeoutMs: this.requestTimeoutMs });
  }

  private call(request: Omit<JsonRequest, 'timeoutMs' | 'accessToken'> & { timeoutMs?: number }): Promise<Result<unknown, MatrixClientError>> {
    return requestJson(this.fetchImpl, this.baseUrl, {
      ...request,
      timeoutMs: request.timeoutMs ?? this.requestTimeoutMs,
      ...(this.accessToken === undefined ? {} : { accessToken: this.accessToken }),
    });
  }

  /**
   * Registers with the `m.login.dummy` stage. Our homeserver accepts it at once; a server that first answers
   * the user-interactive-auth 401 with a `session` (Synapse) gets the same stage again with that session.
   */
  async register(input: { username: string; password: string; deviceId?: string }): Promise<Result<LoginResponse, MatrixClientError>> {
    const body = { username: input.username, password: input.password, device_id: input.deviceId, auth: { type: 'm.login.dummy' } };
    const first = await this.call({ method: 'POST', path: `${V3}/register`, body });
    if (first.ok) return parseLogin(first.value);
    const session = first.error.kind === 'http' && first.error.status === 401 ? uiaSession(first.error.body) : undefined;
    if (session === undefined) return first;
    const second = await this.call({ method: 'POST', path: `${V3}/register`, body: { ...body, auth: { type: 'm.login.dummy', session } } });
    return second.ok ? parseLogin(second.value) : second;
  }

  async login(input: { user: string; password: string; deviceId?: string }): Promise<Result<LoginResponse, MatrixClientError>> {
    const result = await this.call({
      method: 'POST',
      path: `${V3}/login`,
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: input.user }, password: input.password, device_id: input.deviceId },
    });
    return result.ok ? parseLogin(result.value) : result;
  }

  async whoami(): Promise<Result<{ userId: string; deviceId: string | undefined }, MatrixClientError>> {
    const result = await this.call({ method: 'GET', path: `${V3}/account/whoami` });
    if (!result.ok) return result;
    const body = result.value as { user_id?: unknown; device_id?: unknown };
    if (typeof body.user_id !== 'string') return malformed('whoami has no user_id');
    return ok({ userId: body.user_id, deviceId: typeof body.device_id === 'string' ? body.device_id : undefined });
  }

  async slidingSyncToDevice(request: SlidingToDeviceRequest): Promise<Result<SlidingToDeviceBatch, MatrixClientError>> {
    const result = await this.call({
      method: 'POST',
      path: SLIDING_SYNC_PATH,
      query: { pos: request.pos, timeout: request.timeoutMs },
      body: { conn_id: request.connId, extensions: { to_device: request.toDevice, ...(request.e2ee === true ? { e2ee: { enabled: true } } : {}) } },
      timeoutMs: request.timeoutMs + this.requestTimeoutMs,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.onRequestSent === undefined ? {} : { onResponseHeaders: request.onRequestSent }),
      ...(request.onRequestWritten === undefined ? {} : { onRequestWritten: request.onRequestWritten }),
    });
    return result.ok ? parseSlidingSyncToDevice(result.value) : result;
  }

  /**
   * Sliding sync with one room list (`lists.rooms`) and no extension, answered at once (`timeout=0`): no
   * timeline, and of the state only the user's own member event, the smallest answer that still says the user's
   * membership. The server's `membership` field is used when present (this server, and MSC4186's newer text);
   * else an invite's stripped state, else the member event.
   */
  async slidingSyncRoomList(request: SlidingRoomListRequest): Promise<Result<SlidingRoomList, MatrixClientError>> {
    const list = { ranges: [request.range], timeline_limit: 0, required_state: [['m.room.member', '$ME']] };
    const result = await this.call({
      method: 'POST',
      path: SLIDING_SYNC_PATH,
      query: { pos: request.pos, timeout: 0 },
      body: { conn_id: request.connId, lists: { [ROOM_LIST_NAME]: list } },
    });
    if (!result.ok) return result;
    const body = result.value as { pos?: unknown; lists?: Record<string, { count?: unknown } | undefined>; rooms?: unknown };
    const count = body.lists?.[ROOM_LIST_NAME]?.count;
    if (typeof body.pos !== 'string' || typeof count !== 'number') return malformed('sliding sync answer lacks pos or the list count');
    const rooms = typeof body.rooms === 'object' && body.rooms !== null ? Object.entries(body.rooms as Record<string, unknown>) : [];
    return ok({ pos: body.pos, count, rooms: rooms.map(([roomId, entry]) => ({ roomId, membership: membershipOf(entry) })) });
  }

  async classicSync(request: ClassicSyncRequest): Promise<Result<ToDeviceBatch, MatrixClientError>> {
    const result = await this.call({
      method: 'GET',
      path: `${V3}/sync`,
      query: { since: request.since, timeout: request.timeoutMs },
      timeoutMs: request.timeoutMs + this.requestTimeoutMs,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.onRequestSent === undefined ? {} : { onResponseHeaders: request.onRequestSent }),
      ...(request.onRequestWritten === undefined ? {} : { onRequestWritten: request.onRequestWritten }),
    });
    return result.ok ? parseClassicSync(result.value) : result;
  }

  /** `PUT /sendToDevice/{eventType}/{txnId}`; idempotent per txnId on the server. */
  async sendToDevice(
    eventType: string,
    txnId: string,
    messages: Record<string, Record<string, Record<string, unknown>>>,
  ): Promise<Result<void, MatrixClientError>> {
    const path = `${V3}/sendToDevice/${encodeURIComponent(eventType)}/${encodeURIComponent(txnId)}`;
    const result = await this.call({ method: 'PUT', path, body: { messages } });
    return result.ok ? ok(undefined) : result;
  }

  async createRoom(body: Record<string, unknown> = {}): Promise<Result<{ roomId: string }, MatrixClientError>> {
    const result = await this.call({ method: 'POST', path: `${V3}/createRoom`, body });
    if (!result.ok) return result;
    const roomId = (result.value as { room_id?: unknown }).room_id;
    return typeof roomId === 'string' ? ok({ roomId }) : malformed('createRoom has no room_id');
  }

  async joinRoom(roomIdOrAlias: string): Promise<Result<{ roomId: string }, MatrixClientError>> {
    const result = await this.call({ method: 'POST', path: `${V3}/join/${encodeURIComponent(roomIdOrAlias)}`, body: {} });
    if (!result.ok) return result;
    const roomId = (result.value as { room_id?: unknown }).room_id;
    return typeof roomId === 'string' ? ok({ roomId }) : malformed('join has no room_id');
  }

  async sendRoomEvent(
    roomId: string,
    eventType: string,
    txnId: string,
    content: Record<string, unknown>,
  ): Promise<Result<{ eventId: string }, MatrixClientError>> {
    const path = `${V3}/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(eventType)}/${encodeURIComponent(txnId)}`;
    const result = await this.call({ method: 'PUT', path, body: content });
    if (!result.ok) return result;
    const eventId = (result.value as { event_id?: unknown }).event_id;
    return typeof eventId === 'string' ? ok({ eventId }) : malformed('send has no event_id');
  }

  async getEvent(roomId: string, eventId: string): Promise<Result<RoomEvent, MatrixClientError>> {
    const path = `${V3}/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`;
    const result = await this.call({ method: 'GET', path });
    if (!result.ok) return result;
    const event = result.value as Partial<RoomEvent>;
    if (typeof event.event_id !== 'string' || typeof event.type !== 'string' || typeof event.sender !== 'string') {
      return malformed('event is missing event_id, type or sender');
    }
    return ok(event as RoomEvent);
  }

  /** `GET /profile/{userId}`: 404 `M_NOT_FOUND` is how a server says it knows no such user. */
  async profile(userId: string): Promise<Result<{ displayName: string | undefined }, MatrixClientError>> {
    const result = await this.call({ method: 'GET', path: `${V3}/profile/${encodeURIComponent(userId)}` });
    if (!result.ok) return result;
    const name = (result.value as { displayname?: unknown }).displayname;
    return ok({ displayName: typeof name === 'string' ? name : undefined });
  }

  /** `GET /joined_rooms`. */
  async joinedRooms(): Promise<Result<string[], MatrixClientError>> {
    const result = await this.call({ method: 'GET', path: `${V3}/joined_rooms` });
    if (!result.ok) return result;
    const rooms = (result.value as { joined_rooms?: unknown }).joined_rooms;
    if (!Array.isArray(rooms) || !rooms.every((room) => typeof room === 'string')) return malformed('joined_rooms is not a list of room IDs');
    return ok(rooms);
  }

  /**
   * `GET /rooms/{roomId}/messages?dir=f`: the next page of the room after `from` (the room's start when
   * omitted), oldest first, with the token to continue from.
   */
  async roomMessagesForward(roomId: string, from: string | undefined, limit: number): Promise<Result<{ events: RoomEvent[]; end: string }, MatrixClientError>> {
    const path = `${V3}/rooms/${encodeURIComponent(roomId)}/messages`;
    const result = await this.call({ method: 'GET', path, query: { dir: 'f', limit, from } });
    if (!result.ok) return result;
    const body = result.value as { chunk?: unknown; end?: unknown };
    if (!Array.isArray(body.chunk) || typeof body.end !== 'string') return malformed('messages response is missing chunk or end');
    const events = body.chunk.filter(
      (event): event is RoomEvent =>
        typeof (event as Partial<RoomEvent> | null)?.event_id === 'string' && typeof (event as Partial<RoomEvent>).type === 'string',
    );
    if (events.length !== body.chunk.length) return malformed('messages chunk holds an event without event_id or type');
    return ok({ events, end: body.end });
  }

  /**
   * `POST /keys/upload`: device keys, one-time keys and fallback keys (any may be absent). The server accepts an
   * identical re-upload of a key it holds, which is what makes a retry after a lost answer safe.
   */
  async uploadKeys(body: KeysUploadRequest): Promise<Result<KeysUploadResponse, MatrixClientError>> {
    const result = await this.call({ method: 'POST', path: `${V3}/keys/upload`, body });
    if (!result.ok) return result;
    const parsed = parseKeysUploadResponse(result.value);
    return parsed.ok ? parsed : malformed(`keys/upload: ${parsed.error}`);
  }

  /** `POST /keys/query`: other devices' identity keys (checked by src/crypto/olm-device-keys.ts before use). */
  async queryKeys(body: KeysQueryRequest): Promise<Result<KeysQueryResponse, MatrixClientError>> {
    const result = await this.call({ method: 'POST', path: `${V3}/keys/query`, body });
    if (!result.ok) return result;
    const parsed = parseKeysQueryResponse(result.value);
    return parsed.ok ? parsed : malformed(`keys/query: ${parsed.error}`);
  }

  /** `POST /keys/claim`: one one-time (or fallback) key per device, to start an Olm session with it. */
  async claimKeys(body: KeysClaimRequest): Promise<Result<KeysClaimResponse, MatrixClientError>> {
    const result = await this.call({ method: 'POST', path: `${V3}/keys/claim`, body });
    if (!result.ok) return result;
    const parsed = parseKeysClaimResponse(result.value);
    return parsed.ok ? parsed : malformed(`keys/claim: ${parsed.error}`);
  }

  /**
   * `POST /keys/{endpoint}` with a body built elsewhere (an `OlmMachine`'s outgoing request), answered with the
   * raw JSON: the machine reads the answer itself through `markRequestAsSent`, so nothing here may drop a field.
   */
  async keysRequest(endpoint: KeysEndpoint, body: unknown): Promise<Result<unknown, MatrixClientError>> {
    return this.call({ method: 'POST', path: `${V3}/keys/${endpoint}`, body });
  }

  /** `POST /pushers/set` with the body as the spec defines it (kind, app_id, pushkey, data.url, …). */
  async setPusher(body: Record<string, unknown>): Promise<Result<void, MatrixClientError>> {
    const result = await this.call({ method: 'POST', path: `${V3}/pushers/set`, body });
    return result.ok ? ok(undefined) : result;
  }
}

function uiaSession(body: unknown): string | undefined {
  const session = (body as { session?: unknown } | undefined)?.session;
  return typeof session === 'string' ? session : undefined;
}

const ROOM_LIST_NAME = 'rooms';

function membershipOf(entry: unknown): string | undefined {
  const room = (entry ?? {}) as { membership?: unknown; invite_state?: unknown; stripped_state?: unknown; required_state?: unknown };
  if (typeof room.membership === 'string') return room.membership;
  if (Array.isArray(room.invite_state) || Array.isArray(room.stripped_state)) return 'invite';
  const state = Array.isArray(room.required_state) ? (room.required_state as Array<{ type?: unknown; content?: { membership?: unknown } }>) : [];
  const member = state.find((event) => event.type === 'm.room.member')?.content?.membership;
  return typeof member === 'string' ? member : undefined;
}

function malformed(message: string): { ok: false; error: MatrixClientError } {
  return err({ kind: 'http', status: 200, message: `protocol error: ${message}` });
}

function parseLogin(body: unknown): Result<LoginResponse, MatrixClientError> {
  const value = body as Partial<LoginResponse>;
  if (typeof value.user_id !== 'string' || typeof value.access_token !== 'string' || typeof value.device_id !== 'string') {
    return malformed('login/register response lacks user_id, access_token or device_id');
  }
  return ok({ user_id: value.user_id, access_token: value.access_token, device_id: value.device_id });
}
