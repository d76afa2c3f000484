/**
 * Profiles: `GET /v3/profile/{userId}`, `GET`/`PUT .../displayname` and `.../avatar_url`.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions:
 * - Anyone authenticated may read a profile (as on Synapse's default configuration); an unknown user is 404
 *   `M_NOT_FOUND`, and so is reading a field the user has not set.
 * - Only the user may change their profile (403 `M_FORBIDDEN` otherwise). A display name is at most 256
 *   characters and an avatar URL at most 1000, as Synapse limits them; longer is 400 `M_INVALID_PARAM`.
 * - A change is also written, in the same transaction, as a new `m.room.member` join event in every room the
 *   user is joined to, as Synapse does, so room members see the new name through sync.
 */
import type { HomeserverContext } from './context';
import { forbidden, invalidParam, notFound } from './errors';
import { objectBody, requiredString } from './json-checks';
import type { ProfileField } from './profile-store';
import type { Route, RouteRequest } from './router';
import { immediate } from './db';

const MAX_LENGTH: Record<ProfileField, number> = { displayname: 256, avatar_url: 1000 };

export function profileRoutes(ctx: HomeserverContext): Route[] {
  const read = (request: RouteRequest) => {
    ctx.auth.authenticate(request);
    const profile = ctx.profiles.profile(request.params.userId ?? '');
    if (profile === undefined) throw notFound('unknown user');
    return profile;
  };
  const readField = (field: ProfileField) => (request: RouteRequest) => {
    const value = read(request)[field];
    if (value === undefined) throw notFound(`no ${field} set`);
    return { status: 200, body: { [field]: value } };
  };
  const write = (field: ProfileField) => (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    if (request.params.userId !== me.userId) throw forbidden('you may only change your own profile');
    const value = requiredString(objectBody(request.body), field);
    if (value.length > MAX_LENGTH[field]) throw invalidParam(`"${field}" must be at most ${MAX_LENGTH[field]} characters`);
    const joined = ctx.rooms.joinedRooms(me.userId);
    immediate(ctx.db, () => {
      ctx.profiles.set(me.userId, field, value);
      for (const roomId of joined) ctx.rooms.setMembership(roomId, me.userId, 'join');
    });
    for (const roomId of joined) ctx.rooms.notifyMembers(roomId);
    return { status: 200, body: {} };
  };
  return [
    { method: 'GET', pattern: '/_matrix/client/v3/profile/:userId', handle: (r) => ({ status: 200, body: read(r) }) },
    { method: 'GET', pattern: '/_matrix/client/v3/profile/:userId/displayname', handle: readField('displayname') },
    { method: 'PUT', pattern: '/_matrix/client/v3/profile/:userId/displayname', hasBody: true, handle: write('displayname') },
    { method: 'GET', pattern: '/_matrix/client/v3/profile/:userId/avatar_url', handle: readField('avatar_url') },
    { method: 'PUT', pattern: '/_matrix/client/v3/profile/:userId/avatar_url', hasBody: true, handle: write('avatar_url') },
  ];
}
