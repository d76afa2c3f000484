/**
 * The admin surface (src/shared/admin-wire.ts): fault injection and the oracle's device inspection.
 *
 * Runtime: node (homeserver only).
 *
 * Only the admin token opens it (`Authorization: Bearer <adminToken>`): no token is 401 `M_MISSING_TOKEN`, any
 * other token (an ordinary access token included) is 403 `M_FORBIDDEN`. Endpoints:
 * - `POST   /_todevice/admin/faults`   body `AddFaultRequest` → `{}`; `expire-pos` takes effect at once; a
 *   counted fault may name an `endpoint` (`sync`, the default, `keys/upload`, `keys/query`, `keys/claim`);
 * - `GET    /_todevice/admin/faults`   → `{faults: [{user_id, device_id, fault}]}` still pending;
 * - `DELETE /_todevice/admin/faults`   → `{}`; clears every pending fault;
 * - `GET    /_todevice/admin/devices/{userId}/{deviceId}` (URL-encoded) → `DeviceInspection` (its queue and the
 *   long polls waiting for it now), 404 if unknown;
 * - `POST   /_todevice/admin/retention` body `RunRetentionRequest` → `RunRetentionResponse`: one retention pass.
 */
import { timingSafeEqual } from 'node:crypto';
import { ADMIN_PREFIX, FAULT_ENDPOINTS, type DeviceInspection, type Fault, type FaultEndpoint, type RunRetentionResponse } from '../shared/admin-wire';
import { ErrCode } from '../shared/matrix-errors';
import { bearerToken } from './auth';
import type { HomeserverContext } from './context';
import { MatrixError, badJson, forbidden, invalidParam, notFound } from './errors';
import { objectBody, optionalObject, requiredString, type JsonObject } from './json-checks';
import type { Route, RouteRequest } from './router';

const MAX_FAULT_COUNT = 1_000_000;
const MAX_FAULT_DELAY_MS = 60_000;

export function adminRoutes(ctx: HomeserverContext): Route[] {
  const requireAdmin = (request: RouteRequest): void => {
    const token = bearerToken(request);
    if (token === undefined) throw new MatrixError(401, ErrCode.missingToken, 'missing admin token');
    const expected = Buffer.from(ctx.adminToken);
    const actual = Buffer.from(token);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw forbidden('not the admin token');
  };

  const addFault = (request: RouteRequest) => {
    requireAdmin(request);
    const body = objectBody(request.body);
    const userId = requiredString(body, 'user_id');
    const deviceId = requiredString(body, 'device_id');
    const fault = parseFault(optionalObject(body, 'fault'));
    if (fault.kind === 'expire-pos') ctx.connections.expireDevice(userId, deviceId);
    else ctx.faults.add(userId, deviceId, fault);
    ctx.log(`admin: fault ${JSON.stringify(fault)} for ${userId} ${deviceId}`);
    return { status: 200, body: {} };
  };

  const inspect = (request: RouteRequest) => {
    requireAdmin(request);
    const userId = request.params.userId ?? '';
    const deviceId = request.params.deviceId ?? '';
    const inspection = ctx.queue.inspect(userId, deviceId);
    if (inspection === undefined) throw notFound('unknown user or device');
    const body: DeviceInspection = { ...inspection, waiting_polls: ctx.waiters.waitingForToDevice(userId, deviceId) };
    return { status: 200, body };
  };

  const runRetention = (request: RouteRequest) => {
    requireAdmin(request);
    const body = objectBody(request.body);
    const nowMs = body.now_ms === undefined ? Date.now() : boundedInt(body.now_ms, 'now_ms', 0, Number.MAX_SAFE_INTEGER);
    const counts = ctx.pruner.prune(nowMs);
    const response: RunRetentionResponse = {
      transactions: counts.transactions,
      sliding_sync_connections: counts.slidingSyncConnections,
      sliding_sync_room_sends: counts.slidingSyncRoomSends,
    };
    return { status: 200, body: response };
  };

  return [
    { method: 'POST', pattern: `${ADMIN_PREFIX}/faults`, hasBody: true, handle: addFault },
    { method: 'POST', pattern: `${ADMIN_PREFIX}/retention`, hasBody: true, handle: runRetention },
    {
      method: 'GET',
      pattern: `${ADMIN_PREFIX}/faults`,
      handle: (request) => (requireAdmin(request), { status: 200, body: { faults: ctx.faults.list() } }),
    },
    {
      method: 'DELETE',
      pattern: `${ADMIN_PREFIX}/faults`,
      handle: (request) => (requireAdmin(request), ctx.faults.clear(), { status: 200, body: {} }),
    },
    { method: 'GET', pattern: `${ADMIN_PREFIX}/devices/:userId/:deviceId`, handle: inspect },
  ];
}

function parseFault(raw: JsonObject | undefined): Fault {
  if (raw === undefined) throw badJson('"fault" is required');
  const kind = requiredString(raw, 'kind');
  switch (kind) {
    case 'drop-response':
      return { kind, count: boundedInt(raw.count, 'count', 1, MAX_FAULT_COUNT), ...parseEndpoint(raw) };
    case 'delay':
      return {
        kind,
        count: boundedInt(raw.count, 'count', 1, MAX_FAULT_COUNT),
        delay_ms: boundedInt(raw.delay_ms, 'delay_ms', 0, MAX_FAULT_DELAY_MS),
        ...parseEndpoint(raw),
      };
    case 'error':
      return parseErrorFault(raw);
    case 'expire-pos':
      if (raw.endpoint !== undefined && raw.endpoint !== 'sync') throw invalidParam('"expire-pos" applies to sliding sync only');
      return { kind };
    default:
      throw invalidParam(`unknown fault kind "${kind}"`);
  }
}

function parseErrorFault(raw: JsonObject): Fault {
  const status = raw.status;
  if (status !== 429 && status !== 500) throw invalidParam('"status" must be 429 or 500');
  const count = boundedInt(raw.count, 'count', 1, MAX_FAULT_COUNT);
  const endpoint = parseEndpoint(raw);
  if (raw.retry_after_ms === undefined) return { kind: 'error', count, status, ...endpoint };
  return { kind: 'error', count, status, retry_after_ms: boundedInt(raw.retry_after_ms, 'retry_after_ms', 0, MAX_FAULT_DELAY_MS), ...endpoint };
}

/** The optional `endpoint` of a counted fault; kept out of the stored fault when absent, so listings echo the input. */
function parseEndpoint(raw: JsonObject): { endpoint?: FaultEndpoint } {
  if (raw.endpoint === undefined) return {};
  const endpoint = FAULT_ENDPOINTS.find((candidate) => candidate === raw.endpoint);
  if (endpoint === undefined) throw invalidParam(`"endpoint" must be one of ${FAULT_ENDPOINTS.join(', ')}`);
  return { endpoint };
}

function boundedInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParam(`"${field}" must be an integer from ${min} to ${max}`);
  }
  return value;
}
