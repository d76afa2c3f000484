/**
 * Presence: `GET`/`PUT /v3/presence/{userId}/status`.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions:
 * - A user sets only their own presence (403 otherwise); `presence` is `online`, `offline` or `unavailable`
 *   (400 `M_INVALID_PARAM` otherwise) and `status_msg` an optional string. It is stored in SQLite.
 * - Anyone authenticated may read it; an unknown user is 404 `M_NOT_FOUND`, and a user who never set one reads
 *   as `offline`. `last_active_ago` counts from the last `PUT`.
 * - Presence is not pushed through sync (clients handle an empty `presence` section), and a sync's
 *   `set_presence` is not recorded: writing on every sync would cost a disk write per long poll.
 */
import type { HomeserverContext } from './context';
import { forbidden, invalidParam, notFound } from './errors';
import { objectBody, optionalString, requiredString } from './json-checks';
import type { Route, RouteRequest } from './router';

export const PRESENCE_STATES = ['online', 'offline', 'unavailable'] as const;

export function presenceRoutes(ctx: HomeserverContext): Route[] {
  const statements = {
    upsert: ctx.db.prepare(
      `INSERT INTO presence (user_id, presence, status_msg, last_active_ts) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET presence = excluded.presence, status_msg = excluded.status_msg,
         last_active_ts = excluded.last_active_ts`,
    ),
    get: ctx.db.prepare('SELECT presence, status_msg, last_active_ts FROM presence WHERE user_id = ?'),
  };
  const read = (request: RouteRequest) => {
    ctx.auth.authenticate(request);
    const userId = request.params.userId ?? '';
    if (ctx.profiles.profile(userId) === undefined) throw notFound('unknown user');
    const row = statements.get.get(userId) as { presence: string; status_msg: string | null; last_active_ts: number } | undefined;
    if (row === undefined) return { status: 200, body: { presence: 'offline' } };
    const body: Record<string, unknown> = {
      presence: row.presence,
      last_active_ago: Math.max(0, Date.now() - row.last_active_ts),
      currently_active: row.presence === 'online',
    };
    if (row.status_msg !== null) body.status_msg = row.status_msg;
    return { status: 200, body };
  };
  const write = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    if (request.params.userId !== me.userId) throw forbidden('you may only set your own presence');
    const body = objectBody(request.body);
    const presence = requiredString(body, 'presence');
    if (!(PRESENCE_STATES as readonly string[]).includes(presence)) throw invalidParam(`"presence" must be one of ${PRESENCE_STATES.join(', ')}`);
    statements.upsert.run(me.userId, presence, optionalString(body, 'status_msg') ?? null, Date.now());
    return { status: 200, body: {} };
  };
  return [
    { method: 'GET', pattern: '/_matrix/client/v3/presence/:userId/status', handle: read },
    { method: 'PUT', pattern: '/_matrix/client/v3/presence/:userId/status', hasBody: true, handle: write },
  ];
}
