/**
 * What `POST /createRoom` writes, in the order the Client-Server API gives: `m.room.create`, the creator's
 * join, `m.room.power_levels`, `m.room.canonical_alias`, the preset's join rules, history visibility and guest
 * access, `initial_state`, `m.room.name` and `m.room.topic`, then the invites.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions:
 * - The preset defaults to `public_chat` when `visibility` is `public`, else `private_chat`, as the spec says.
 *   `trusted_private_chat` gives every invitee the creator's power level.
 * - `initial_state` replaces a preset event with the same type and state key, and is itself overridden by
 *   `name` and `topic`; it may not carry `m.room.create` or `m.room.member` (those have their own fields).
 * - Only room version 10 exists here (the capabilities say so); any other `room_version` gets 400
 *   `M_UNSUPPORTED_ROOM_VERSION`.
 * - `is_direct` marks the invites' member events, which is how clients recognise a direct chat.
 */
import { badJson, invalidParam, MatrixError } from './errors';
import { isJsonObject, objectBody, optionalBoolean, optionalObject, optionalString, optionalStringArray, type JsonObject } from './json-checks';
import { defaultPowerLevels } from './room-power-levels';

export const ROOM_VERSION = '10';
const PRESETS = ['private_chat', 'public_chat', 'trusted_private_chat'] as const;
type Preset = (typeof PRESETS)[number];

export interface PlannedState {
  type: string;
  stateKey: string;
  content: JsonObject;
}

export interface RoomPlan {
  /** State events the creator sends after `m.room.create` and their own join, in order. */
  state: PlannedState[];
  createContent: JsonObject;
  invite: string[];
  isDirect: boolean;
  joinRule: string;
}

/** Reads and checks a createRoom body; `alias` is the full alias when `room_alias_name` was given. */
export function planRoom(rawBody: unknown, creator: string, alias: string | null): RoomPlan {
  const body = objectBody(rawBody);
  const preset = parsePreset(body);
  const invite = [...new Set(optionalStringArray(body, 'invite') ?? [])].filter((userId) => userId !== creator);
  const roomVersion = optionalString(body, 'room_version') ?? ROOM_VERSION;
  if (roomVersion !== ROOM_VERSION) {
    throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `room version ${roomVersion} is not supported; use ${ROOM_VERSION}`);
  }
  const createContent: JsonObject = { ...(optionalObject(body, 'creation_content') ?? {}), creator, room_version: ROOM_VERSION };
  const powerLevels = defaultPowerLevels(creator);
  if (preset === 'trusted_private_chat') {
    for (const userId of invite) (powerLevels.users as JsonObject)[userId] = 100;
  }
  Object.assign(powerLevels, optionalObject(body, 'power_level_content_override') ?? {});

  const state: PlannedState[] = [{ type: 'm.room.power_levels', stateKey: '', content: powerLevels }];
  if (alias !== null) state.push({ type: 'm.room.canonical_alias', stateKey: '', content: { alias } });
  const presetState: PlannedState[] = [
    { type: 'm.room.join_rules', stateKey: '', content: { join_rule: preset === 'public_chat' ? 'public' : 'invite' } },
    { type: 'm.room.history_visibility', stateKey: '', content: { history_visibility: 'shared' } },
    { type: 'm.room.guest_access', stateKey: '', content: { guest_access: preset === 'public_chat' ? 'forbidden' : 'can_join' } },
  ];
  const initial = parseInitialState(body.initial_state);
  const overridden = (entry: PlannedState) => initial.some((i) => i.type === entry.type && i.stateKey === entry.stateKey);
  state.push(...presetState.filter((entry) => !overridden(entry)), ...initial);
  const name = optionalString(body, 'name');
  if (name !== undefined) state.push({ type: 'm.room.name', stateKey: '', content: { name } });
  const topic = optionalString(body, 'topic');
  if (topic !== undefined) state.push({ type: 'm.room.topic', stateKey: '', content: { topic } });

  const joinRules = [...state].reverse().find((entry) => entry.type === 'm.room.join_rules' && entry.stateKey === '');
  const joinRule = typeof joinRules?.content.join_rule === 'string' ? joinRules.content.join_rule : 'invite';
  return {
    state,
    createContent,
    invite,
    isDirect: optionalBoolean(body, 'is_direct') === true,
    joinRule,
  };
}

function parsePreset(body: JsonObject): Preset {
  const preset = optionalString(body, 'preset');
  if (preset === undefined) return optionalString(body, 'visibility') === 'public' ? 'public_chat' : 'private_chat';
  if (!(PRESETS as readonly string[]).includes(preset)) throw invalidParam(`unknown preset "${preset}"`);
  return preset as Preset;
}

function parseInitialState(value: unknown): PlannedState[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badJson('"initial_state" must be an array');
  return value.map((entry: unknown, index) => {
    if (!isJsonObject(entry)) throw badJson(`"initial_state[${index}]" must be an object`);
    const type = entry.type;
    const stateKey = entry.state_key ?? '';
    if (typeof type !== 'string' || type === '') throw badJson(`"initial_state[${index}].type" must be a non-empty string`);
    if (typeof stateKey !== 'string') throw badJson(`"initial_state[${index}].state_key" must be a string`);
    if (!isJsonObject(entry.content)) throw badJson(`"initial_state[${index}].content" must be an object`);
    if (type === 'm.room.create' || type === 'm.room.member') {
      throw invalidParam(`"initial_state" may not contain ${type}; use the createRoom fields for it`);
    }
    return { type, stateKey, content: entry.content };
  });
}
