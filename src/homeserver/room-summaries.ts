/**
 * What both sync kinds say about a room besides its events: the stripped state an invitee sees, member counts,
 * heroes, the name.
 *
 * Runtime: node (homeserver only).
 *
 * - Stripped state is the spec's recommended set (create, join rules, canonical alias, avatar, name,
 *   encryption, topic), the inviter's membership, and the invite itself last, which is what Synapse's
 *   `invite_state` holds: enough to show and name the room, nothing of its history.
 * - Heroes are up to five other members, joined first, then invited, then left, ordered by user ID, as the spec's
 *   `m.heroes` asks. They are given only for rooms without a name or canonical alias.
 */
import type { RoomStore, StoredEvent } from './room-store';

const STRIPPED_STATE_TYPES = [
  'm.room.create',
  'm.room.join_rules',
  'm.room.canonical_alias',
  'm.room.avatar',
  'm.room.name',
  'm.room.encryption',
  'm.room.topic',
];
const MAX_HEROES = 5;

export interface StrippedEvent {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
}

export function strip(event: StoredEvent): StrippedEvent {
  return { type: event.type, state_key: event.state_key ?? '', sender: event.sender, content: event.content };
}

/** The stripped state of a room the user is invited to. */
export function inviteState(rooms: RoomStore, roomId: string, userId: string): StrippedEvent[] {
  const events: StrippedEvent[] = [];
  for (const type of STRIPPED_STATE_TYPES) {
    const event = rooms.stateEvent(roomId, type, '');
    if (event !== undefined) events.push(strip(event));
  }
  const invite = rooms.stateEvent(roomId, 'm.room.member', userId);
  if (invite !== undefined) {
    const inviter = rooms.stateEvent(roomId, 'm.room.member', invite.sender);
    if (inviter !== undefined && invite.sender !== userId) events.push(strip(inviter));
    events.push(strip(invite));
  }
  return events;
}

export function memberCounts(rooms: RoomStore, roomId: string): { joined: number; invited: number } {
  let joined = 0;
  let invited = 0;
  for (const member of rooms.members(roomId)) {
    if (member.membership === 'join') joined += 1;
    else if (member.membership === 'invite') invited += 1;
  }
  return { joined, invited };
}

/** The room's `m.room.name`, if it has a non-empty one. */
export function roomName(rooms: RoomStore, roomId: string): string | undefined {
  const name = rooms.stateContent(roomId, 'm.room.name')?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

export interface Hero {
  user_id: string;
  displayname?: string;
  avatar_url?: string;
}

/** Heroes for a room without a name or canonical alias; empty for one that has either. */
export function heroes(rooms: RoomStore, roomId: string, userId: string): Hero[] {
  if (roomName(rooms, roomId) !== undefined || typeof rooms.stateContent(roomId, 'm.room.canonical_alias')?.alias === 'string') return [];
  const rank = (membership: unknown): number => (membership === 'join' ? 0 : membership === 'invite' ? 1 : 2);
  return rooms
    .memberEvents(roomId)
    .filter((event) => event.state_key !== undefined && event.state_key !== userId)
    .sort((a, b) => rank(a.content.membership) - rank(b.content.membership) || (a.state_key ?? '').localeCompare(b.state_key ?? ''))
    .slice(0, MAX_HEROES)
    .map((event) => {
      const hero: Hero = { user_id: event.state_key ?? '' };
      if (typeof event.content.displayname === 'string') hero.displayname = event.content.displayname;
      if (typeof event.content.avatar_url === 'string') hero.avatar_url = event.content.avatar_url;
      return hero;
    });
}
