/**
 * What the server offers a client: `GET /v3/capabilities`.
 *
 * Runtime: node (homeserver only).
 *
 * Every capability states what this server really does: there is no password change, third-party identifier
 * or login-token endpoint, profiles may be changed, and rooms are version 10 only (room-creation.ts).
 */
import type { HomeserverContext } from './context';
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
  ];
}
