/**
 * Sync filters: `POST /v3/user/{userId}/filter` → `{filter_id}` and `GET /v3/user/{userId}/filter/{filterId}`.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions (Synapse's answers where the spec leaves them open):
 * - Filters are stored per user in SQLite, numbered from 0, and never change; the ID is a string of digits.
 * - Uploading or reading another user's filters is 403 `M_FORBIDDEN`. An ID that is not a number is 400
 *   `M_INVALID_PARAM`; an unknown one 404 `M_NOT_FOUND`.
 * - The definition is checked like an inline filter (sync-filter.ts): malformed JSON is 400 `M_NOT_JSON` (the
 *   dispatcher), a wrong type 400 `M_BAD_JSON`. The stored definition is returned exactly as uploaded.
 */
import type { HomeserverContext } from './context';
import { forbidden, invalidParam, notFound } from './errors';
import type { Route, RouteRequest } from './router';
import { parseFilter } from './sync-filter';

/** A filter ID from a URL or the `filter` query parameter; 400 `M_INVALID_PARAM` when it is not a number. */
export function parseFilterId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw invalidParam('a filter ID is a string of digits');
  return Number(raw);
}

export function filterRoutes(ctx: HomeserverContext): Route[] {
  const filters = ctx.filters;
  const ownUser = (request: RouteRequest, verb: string): string => {
    const me = ctx.auth.authenticate(request);
    if (request.params.userId !== me.userId) throw forbidden(`cannot ${verb} filters for other users`);
    return me.userId;
  };
  const create = (request: RouteRequest) => {
    const userId = ownUser(request, 'create');
    const definition = parseFilter(request.body);
    return { status: 200, body: { filter_id: String(filters.add(userId, definition)) } };
  };
  const read = (request: RouteRequest) => {
    const userId = ownUser(request, 'read');
    const definition = filters.get(userId, parseFilterId(request.params.filterId ?? ''));
    if (definition === undefined) throw notFound('no such filter');
    return { status: 200, body: definition };
  };
  return [
    { method: 'POST', pattern: '/_matrix/client/v3/user/:userId/filter', hasBody: true, handle: create },
    { method: 'GET', pattern: '/_matrix/client/v3/user/:userId/filter/:filterId', handle: read },
  ];
}
