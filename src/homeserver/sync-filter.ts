/**
 * Sync filters (the Client-Server API's `Filter`): checking a definition a client uploads or sends inline, and
 * applying one to what classic sync returns.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions:
 * - A definition must be a JSON object whose known fields have the spec's types (arrays of strings, booleans,
 *   a positive integer `limit`, `event_format` `client` or `federation`); anything else is 400 `M_BAD_JSON`
 *   naming the field. Unknown fields are kept and ignored, as the spec allows.
 * - `types`, `not_types`, `senders`, `not_senders`, `rooms`, `not_rooms` and `limit` are applied, `*` in a type
 *   matching any run of characters. `lazy_load_members` is honoured in sync (members of the timeline's senders
 *   only). `include_leave` decides whether left rooms appear. `event_fields`, `event_format` and `contains_url`
 *   are accepted and not applied: every event is returned whole in client format.
 */
import { badJson } from './errors';
import { isJsonObject, type JsonObject } from './json-checks';

export interface EventFilter {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
}

export interface RoomEventFilter extends EventFilter {
  rooms?: string[];
  not_rooms?: string[];
  lazy_load_members?: boolean;
}

export interface RoomFilter {
  rooms?: string[];
  not_rooms?: string[];
  include_leave?: boolean;
  timeline?: RoomEventFilter;
  state?: RoomEventFilter;
  ephemeral?: RoomEventFilter;
  account_data?: RoomEventFilter;
}

export interface SyncFilter {
  account_data?: EventFilter;
  presence?: EventFilter;
  room?: RoomFilter;
}

const STRING_LISTS = ['types', 'not_types', 'senders', 'not_senders'] as const;
const ROOM_EVENT_BOOLEANS = ['lazy_load_members', 'include_redundant_members', 'contains_url', 'unread_thread_notifications'] as const;

/** Checks a filter definition; 400 `M_BAD_JSON` naming the first field of the wrong type. */
export function parseFilter(value: unknown): SyncFilter {
  if (!isJsonObject(value)) throw badJson('a filter must be a JSON object');
  stringList(value, 'event_fields', 'event_fields');
  if (value.event_format !== undefined && value.event_format !== 'client' && value.event_format !== 'federation') {
    throw badJson('"event_format" must be "client" or "federation"');
  }
  eventFilter(value.account_data, 'account_data');
  eventFilter(value.presence, 'presence');
  const room = value.room;
  if (room !== undefined) {
    if (!isJsonObject(room)) throw badJson('"room" must be an object');
    stringList(room, 'rooms', 'room.rooms');
    stringList(room, 'not_rooms', 'room.not_rooms');
    if (room.include_leave !== undefined && typeof room.include_leave !== 'boolean') throw badJson('"room.include_leave" must be a boolean');
    for (const part of ['timeline', 'state', 'ephemeral', 'account_data'] as const) roomEventFilter(room[part], `room.${part}`);
  }
  return value as SyncFilter;
}

/** Whether an event passes an event filter's type and sender rules. */
export function passes(filter: EventFilter | undefined, event: { type: string; sender?: string }): boolean {
  if (filter === undefined) return true;
  if (filter.not_types?.some((pattern) => typeMatches(pattern, event.type)) === true) return false;
  if (filter.types !== undefined && !filter.types.some((pattern) => typeMatches(pattern, event.type))) return false;
  if (event.sender !== undefined) {
    if (filter.not_senders?.includes(event.sender) === true) return false;
    if (filter.senders !== undefined && !filter.senders.includes(event.sender)) return false;
  }
  return true;
}

/** Whether a room passes a filter's `rooms` / `not_rooms`. */
export function roomPasses(filter: { rooms?: string[]; not_rooms?: string[] } | undefined, roomId: string): boolean {
  if (filter === undefined) return true;
  if (filter.not_rooms?.includes(roomId) === true) return false;
  return filter.rooms === undefined || filter.rooms.includes(roomId);
}

function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(type);
}

function eventFilter(value: unknown, path: string): void {
  if (value === undefined) return;
  if (!isJsonObject(value)) throw badJson(`"${path}" must be an object`);
  for (const key of STRING_LISTS) stringList(value, key, `${path}.${key}`);
  const limit = value.limit;
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) {
    throw badJson(`"${path}.limit" must be a positive integer`);
  }
}

function roomEventFilter(value: unknown, path: string): void {
  eventFilter(value, path);
  if (value === undefined) return;
  const filter = value as JsonObject;
  stringList(filter, 'rooms', `${path}.rooms`);
  stringList(filter, 'not_rooms', `${path}.not_rooms`);
  for (const key of ROOM_EVENT_BOOLEANS) {
    if (filter[key] !== undefined && typeof filter[key] !== 'boolean') throw badJson(`"${path}.${key}" must be a boolean`);
  }
}

function stringList(obj: JsonObject, key: string, path: string): void {
  const value = obj[key];
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw badJson(`"${path}" must be an array of strings`);
}
