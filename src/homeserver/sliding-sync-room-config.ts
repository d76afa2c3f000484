/**
 * Reading the room side of a sliding sync request: lists, room subscriptions and their room configs, the way
 * matrix-js-sdk 37.5 and Synapse write them (MSC4186 as implemented), and the MSC's newer spellings.
 *
 * Runtime: node (homeserver only).
 *
 * Accepted shapes:
 * - a list: `ranges: [[start, end], ...]` (inclusive) or the MSC's single `range: [start, end]`; no range means
 *   every matching room. `filters`: `is_invite` (or `is_invited`), `is_dm`, `is_encrypted`, `room_types`,
 *   `not_room_types` (`null` for rooms without a type), `room_name_like`, `tags`, `not_tags`, `spaces`;
 * - a room config (list or subscription): `timeline_limit` (capped at 100) and `required_state`, either as
 *   `[[type, state_key], ...]` with `*` wildcards, `$ME` (the user) and `["m.room.member", "$LAZY"]` (members of
 *   the timeline's senders), or as the MSC's `{include: [{type?, state_key?}], exclude, lazy_members}`.
 * Sliding sync has always answered odd lists without failing (a client with a list this server does not
 * understand still gets its to-device messages), so a field of the wrong type counts as absent. Only the
 * MSC's hard limits are errors: more than 100 lists or subscriptions is 400 `M_INVALID_PARAM`.
 */
import { invalidParam } from './errors';
import { isJsonObject, type JsonObject } from './json-checks';

export const MAX_LISTS = 100;
export const MAX_SUBSCRIPTIONS = 100;
const MAX_TIMELINE_LIMIT = 100;

/** One `[type, state_key]` pattern; `*` matches anything, `$ME` is the user. */
type StatePattern = { type: string; stateKey: string };

export interface RequiredState {
  include: StatePattern[];
  exclude: StatePattern[];
  /** Whether the members of the timeline's senders are wanted. */
  lazyMembers: boolean;
}

export interface RoomConfig {
  timelineLimit: number;
  requiredState: RequiredState;
}

export interface ListFilters {
  isInvite?: boolean;
  isDm?: boolean;
  isEncrypted?: boolean;
  roomTypes?: Array<string | null>;
  notRoomTypes?: Array<string | null>;
  roomNameLike?: string;
  tags?: string[];
  notTags?: string[];
  spaces?: string[];
}

export interface ListConfig extends RoomConfig {
  /** Inclusive index ranges; undefined means the whole list. */
  ranges: Array<[number, number]> | undefined;
  filters: ListFilters;
}

export function parseLists(value: unknown): Map<string, ListConfig> {
  const lists = new Map<string, ListConfig>();
  if (!isJsonObject(value)) return lists;
  const entries = Object.entries(value);
  if (entries.length > MAX_LISTS) throw invalidParam(`at most ${MAX_LISTS} lists`);
  for (const [name, raw] of entries) {
    const list = isJsonObject(raw) ? raw : {};
    lists.set(name, { ...parseRoomConfig(list), ranges: parseRanges(list), filters: parseFilters(list.filters) });
  }
  return lists;
}

/** Subscriptions by room ID; entries that are not objects count as a subscription with the defaults. */
export function parseSubscriptions(value: unknown): Map<string, RoomConfig> {
  const subscriptions = new Map<string, RoomConfig>();
  if (!isJsonObject(value)) return subscriptions;
  const entries = Object.entries(value);
  if (entries.length > MAX_SUBSCRIPTIONS) throw invalidParam(`at most ${MAX_SUBSCRIPTIONS} room subscriptions`);
  for (const [roomId, raw] of entries) subscriptions.set(roomId, parseRoomConfig(isJsonObject(raw) ? raw : {}));
  return subscriptions;
}

export function parseRoomConfig(raw: JsonObject): RoomConfig {
  const limit = raw.timeline_limit;
  const timelineLimit = typeof limit === 'number' && Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_TIMELINE_LIMIT) : 0;
  return { timelineLimit, requiredState: parseRequiredState(raw.required_state) };
}

/** Several room configs applying to one room: their superset (MSC4186 "Combining room configs"). */
export interface CombinedConfig {
  timelineLimit: number;
  requiredStates: RequiredState[];
  lazyMembers: boolean;
}

export function combine(configs: readonly RoomConfig[]): CombinedConfig {
  return {
    timelineLimit: Math.max(0, ...configs.map((config) => config.timelineLimit)),
    requiredStates: configs.map((config) => config.requiredState),
    lazyMembers: configs.some((config) => config.requiredState.lazyMembers),
  };
}

/** Whether any of the configs asks for a state event (lazy members aside, which depend on the timeline). */
export function wantsState(config: CombinedConfig, event: { type: string; state_key?: string }, userId: string): boolean {
  const matches = (pattern: StatePattern): boolean => {
    const key = pattern.stateKey === '$ME' ? userId : pattern.stateKey;
    return (pattern.type === '*' || pattern.type === event.type) && (key === '*' || key === event.state_key);
  };
  return config.requiredStates.some((required) => required.include.some(matches) && !required.exclude.some(matches));
}

/** A stored subscription config, as written by `serializeSubscriptions`. */
export function parseStoredSubscriptions(text: string | null): Map<string, RoomConfig> {
  if (text === null) return new Map();
  return new Map(Object.entries(JSON.parse(text) as Record<string, RoomConfig>));
}

export function serializeSubscriptions(subscriptions: Map<string, RoomConfig>): string | null {
  return subscriptions.size === 0 ? null : JSON.stringify(Object.fromEntries(subscriptions));
}

function parseRequiredState(value: unknown): RequiredState {
  const required: RequiredState = { include: [], exclude: [], lazyMembers: false };
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') continue;
      if (entry[0] === 'm.room.member' && entry[1] === '$LAZY') required.lazyMembers = true;
      else required.include.push({ type: entry[0], stateKey: entry[1] });
    }
    return required;
  }
  if (!isJsonObject(value)) return required;
  required.include = patterns(value.include);
  required.exclude = patterns(value.exclude);
  required.lazyMembers = value.lazy_members === true;
  return required;
}

function patterns(value: unknown): StatePattern[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isJsonObject).map((entry) => ({
    type: typeof entry.type === 'string' ? entry.type : '*',
    stateKey: typeof entry.state_key === 'string' ? entry.state_key : '*',
  }));
}

function parseRanges(list: JsonObject): Array<[number, number]> | undefined {
  const isRange = (value: unknown): value is [number, number] =>
    Array.isArray(value) && value.length === 2 && value.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0) && value[0] <= value[1];
  if (Array.isArray(list.ranges)) return list.ranges.filter(isRange);
  if (isRange(list.range)) return [list.range];
  return undefined;
}

function parseFilters(value: unknown): ListFilters {
  if (!isJsonObject(value)) return {};
  const bool = (key: string): boolean | undefined => (typeof value[key] === 'boolean' ? (value[key] as boolean) : undefined);
  const strings = (key: string): string[] | undefined =>
    Array.isArray(value[key]) ? (value[key] as unknown[]).filter((item): item is string => typeof item === 'string') : undefined;
  const types = (key: string): Array<string | null> | undefined =>
    Array.isArray(value[key]) ? (value[key] as unknown[]).filter((item): item is string | null => item === null || typeof item === 'string') : undefined;
  const filters: ListFilters = {};
  const isInvite = bool('is_invite') ?? bool('is_invited');
  if (isInvite !== undefined) filters.isInvite = isInvite;
  const isDm = bool('is_dm');
  if (isDm !== undefined) filters.isDm = isDm;
  const isEncrypted = bool('is_encrypted');
  if (isEncrypted !== undefined) filters.isEncrypted = isEncrypted;
  const roomTypes = types('room_types');
  if (roomTypes !== undefined) filters.roomTypes = roomTypes;
  const notRoomTypes = types('not_room_types');
  if (notRoomTypes !== undefined) filters.notRoomTypes = notRoomTypes;
  if (typeof value.room_name_like === 'string') filters.roomNameLike = value.room_name_like;
  const tags = strings('tags');
  if (tags !== undefined) filters.tags = tags;
  const notTags = strings('not_tags');
  if (notTags !== undefined) filters.notTags = notTags;
  const spaces = strings('spaces');
  if (spaces !== undefined) filters.spaces = spaces;
  return filters;
}
