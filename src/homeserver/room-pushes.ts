/**
 * Which pushes a new room event causes: one Push Gateway notification per pusher of every other joined member.
 *
 * Runtime: node (homeserver only).
 *
 * The pusher rows are read now, synchronously, right after the event committed; the HTTP delivery runs
 * detached in PushSender, so the sender's request never waits for, or fails because of, a push gateway. The
 * `data` sent to the gateway is the pusher's `data` without `url`, as the Push Gateway API specifies.
 */
import type { PushNotifyRequest, RoomEvent } from '../shared/wire';
import type { HomeserverContext } from './context';
import type { PusherRow } from './pusher-routes';
import type { RoomStore } from './room-store';

export function pushRoomEvent(ctx: HomeserverContext, rooms: RoomStore, event: RoomEvent): void {
  const listPushers = ctx.db.prepare('SELECT * FROM pushers WHERE user_id = ?');
  for (const member of rooms.joinedMembers(event.room_id)) {
    if (member === event.sender) continue;
    const unread = rooms.unreadCount(event.room_id, member);
    for (const pusher of listPushers.all(member) as PusherRow[]) {
      const { url, ...data } = JSON.parse(pusher.data) as Record<string, unknown>;
      if (typeof url !== 'string') continue;
      const request: PushNotifyRequest = {
        notification: {
          event_id: event.event_id,
          room_id: event.room_id,
          type: event.type,
          sender: event.sender,
          counts: { unread },
          devices: [{ app_id: pusher.app_id, pushkey: pusher.pushkey, data }],
        },
      };
      ctx.pushes.schedule({ url, pushkey: pusher.pushkey, request });
    }
  }
}
