/**
 * Pushers: `POST /v3/pushers/set` and `GET /v3/pushers`, plus the lookup used when a room event is sent.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions:
 * - Only `kind: "http"` pushers exist here; `kind: null` deletes the (app_id, pushkey) pusher.
 * - `data.url` must be an http(s) URL on a loopback address whose path is `/_matrix/push/v1/notify` (the Push
 *   Gateway API path, which Synapse also insists on). The reference homeserver pushes only to gateways on this
 *   machine: it must never become a way to make requests to arbitrary hosts.
 * - `app_display_name`, `device_display_name` and `lang` are required by the spec but defaulted here, because
 *   a test harness that forgets one should still get its pushes.
 * - Without `append: true`, setting a pusher removes the same (app_id, pushkey) from other users, as the spec asks.
 */
import type { HomeserverContext } from './context';
import { invalidParam } from './errors';
import { objectBody, optionalBoolean, optionalObject, optionalString, requiredString, type JsonObject } from './json-checks';
import type { Route, RouteRequest } from './router';
import { immediate } from './db';

export const PUSH_NOTIFY_PATH = '/_matrix/push/v1/notify';
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

export interface PusherRow {
  user_id: string;
  app_id: string;
  pushkey: string;
  kind: string;
  app_display_name: string;
  device_display_name: string;
  profile_tag: string | null;
  lang: string;
  data: string;
}

export function pusherRoutes(ctx: HomeserverContext): Route[] {
  const statements = {
    upsert: ctx.db.prepare(
      `INSERT INTO pushers (user_id, app_id, pushkey, kind, app_display_name, device_display_name, profile_tag, lang, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET kind = excluded.kind,
         app_display_name = excluded.app_display_name, device_display_name = excluded.device_display_name,
         profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data`,
    ),
    removeOthers: ctx.db.prepare('DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id != ?'),
    remove: ctx.db.prepare('DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?'),
    list: ctx.db.prepare('SELECT * FROM pushers WHERE user_id = ? ORDER BY app_id, pushkey'),
  };

  const set = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const body = objectBody(request.body);
    const appId = requiredString(body, 'app_id');
    const pushkey = requiredString(body, 'pushkey');
    if (body.kind === null) {
      statements.remove.run(me.userId, appId, pushkey);
      return { status: 200, body: {} };
    }
    const kind = requiredString(body, 'kind');
    if (kind !== 'http') throw invalidParam('only "http" pushers are supported');
    const data = optionalObject(body, 'data') ?? {};
    checkPushUrl(data);
    const row = [
      me.userId, appId, pushkey, kind,
      optionalString(body, 'app_display_name') ?? appId,
      optionalString(body, 'device_display_name') ?? me.deviceId,
      optionalString(body, 'profile_tag') ?? null,
      optionalString(body, 'lang') ?? 'en',
      JSON.stringify(data),
    ];
    const append = optionalBoolean(body, 'append') === true;
    immediate(ctx.db, () => {
      if (!append) statements.removeOthers.run(appId, pushkey, me.userId);
      statements.upsert.run(...row);
    });
    return { status: 200, body: {} };
  };

  const list = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const rows = statements.list.all(me.userId) as PusherRow[];
    return { status: 200, body: { pushers: rows.map(pusherJson) } };
  };

  return [
    { method: 'POST', pattern: '/_matrix/client/v3/pushers/set', hasBody: true, handle: set },
    { method: 'GET', pattern: '/_matrix/client/v3/pushers', handle: list },
  ];
}

function checkPushUrl(data: JsonObject): void {
  const raw = data.url;
  if (typeof raw !== 'string') throw invalidParam('"data.url" is required for http pushers');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidParam('"data.url" is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidParam('"data.url" must be http or https');
  if (!isLoopbackHost(url.hostname)) throw invalidParam('"data.url" must point at a loopback address');
  if (url.pathname !== PUSH_NOTIFY_PATH) throw invalidParam(`"data.url" must have the path ${PUSH_NOTIFY_PATH}`);
}

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function pusherJson(row: PusherRow): JsonObject {
  return {
    kind: row.kind,
    app_id: row.app_id,
    pushkey: row.pushkey,
    app_display_name: row.app_display_name,
    device_display_name: row.device_display_name,
    profile_tag: row.profile_tag ?? undefined,
    lang: row.lang,
    data: JSON.parse(row.data) as unknown,
  };
}
