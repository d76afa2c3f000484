/**
 * What the server offers a client: `GET /v3/capabilities`, `GET /v3/thirdparty/protocols` and
 * `GET /v3/room_keys/version`.
 *
 * Runtime: node (homeserver only).
 *
 * Every answer states what this server really does: there is no password change, third-party identifier or
 * login-token endpoint, profiles may be changed, and rooms are version 10 only (room-creation.ts). No bridges
 * are attached, so the third-party protocol list is empty. Server-side key backup is not offered, so there is
 * never a current backup version: 404 `M_NOT_FOUND`, Synapse's answer for a user without a backup, which
 * clients read as "no backup".
 */
import type { HomeserverContext } from './context';
import { notFound } from './errors';
import { ROOM_VERSION } from './room-creation';
import type { Route } from './router';

export function capabilitiesRoutes(ctx: HomeserverContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/_matrix/client/v3/capabilities',
      handle: (request) => {
        ctx.auth.authenticate(request);
        return {
          status: 200,
          body: {
            capabilities: {
              'm.change_password': { enabled: false },
              'm.room_versions': { default: ROOM_VERSION, available: { [ROOM_VERSION]: 'stable' } },
              'm.set_displayname': { enabled: true },
              'm.set_avatar_url': { enabled: true },
              'm.3pid_changes': { enabled: false },
              'm.get_login_token': { enabled: false },
            },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: '/_matrix/client/v3/thirdparty/protocols',
      handle: (request) => {
        ctx.auth.authenticate(request);
        return { status: 200, body: {} };
      },
    },
    {
      method: 'GET',
      pattern: '/_matrix/client/v3/room_keys/version',
      handle: (request) => {
        ctx.auth.authenticate(request);
        throw notFound('No current backup version');
      },
    },
  ];
}
