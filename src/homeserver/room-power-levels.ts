/**
 * Reading `m.room.power_levels`: who may send what, as the Client-Server API's authorization rules say.
 *
 * Runtime: node (homeserver only).
 *
 * Defaults are the spec's (`m.room.power_levels`): with no power levels event at all the creator has 100 and
 * everyone else 0, and every event needs 0; with one, missing fields default to `users_default` 0,
 * `events_default` 0, `state_default` 50, `invite` 0 and `kick`/`ban`/`redact` 50. A value that is not an
 * integer (a malformed event) counts as its default rather than failing a request.
 */
import type { JsonObject } from './json-checks';

/** The power levels a new room starts with (Synapse's defaults, which `power_level_content_override` refines). */
export function defaultPowerLevels(creator: string): JsonObject {
  return {
    users: { [creator]: 100 },
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
    historical: 100,
    notifications: { room: 50 },
  };
}

export class PowerLevels {
  constructor(
    private readonly content: JsonObject | undefined,
    private readonly creator: string,
  ) {}

  userLevel(userId: string): number {
    if (this.content === undefined) return userId === this.creator ? 100 : 0;
    const users = this.content.users;
    const own = typeof users === 'object' && users !== null ? (users as JsonObject)[userId] : undefined;
    return integerOr(own, integerOr(this.content.users_default, 0));
  }

  /** The level needed to send an event of `type` (a state event when `isState`). */
  eventLevel(type: string, isState: boolean): number {
    const events = this.content?.events;
    const specific = typeof events === 'object' && events !== null ? (events as JsonObject)[type] : undefined;
    if (this.content === undefined) return 0;
    const fallback = isState ? integerOr(this.content.state_default, 50) : integerOr(this.content.events_default, 0);
    return integerOr(specific, fallback);
  }

  /** The level of an action such as `invite`, `kick`, `ban` or `redact`. */
  actionLevel(action: 'invite' | 'kick' | 'ban' | 'redact'): number {
    return integerOr(this.content?.[action], action === 'invite' ? 0 : 50);
  }

  may(userId: string, type: string, isState: boolean): boolean {
    return this.userLevel(userId) >= this.eventLevel(type, isState);
  }
}

function integerOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}
