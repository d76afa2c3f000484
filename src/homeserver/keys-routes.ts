/**
 * End-to-end encryption key endpoints: `POST /keys/upload`, `/keys/query`, `/keys/claim`,
 * `/keys/signatures/upload`, and `GET /keys/changes`.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - An upload is validated whole (keys-upload-checks.ts) and then stored in one transaction, or not at all
 *   (e2e-key-store.ts): a refused upload changes nothing.
 * - A claim runs in one transaction, so two concurrent claims never get the same one-time key; a device with
 *   none left hands out its fallback key, marked used.
 * - An upload that changed device keys wakes, after its commit, the long polls that report device lists (classic
 *   sync, sliding sync with `e2ee`) of the users it concerns, as Synapse's notifier does.
 * - Injected faults (admin surface, `endpoint: "keys/upload"` etc.) apply per device: `error` before any
 *   processing, `drop-response` and `delay` after the transaction committed, so a dropped `/keys/upload` has
 *   stored its keys while the client saw only a reset connection.
 * Synapse behaviour copied (synapse/handlers/e2e_keys.py, synapse/rest/client/keys.py):
 * - `/keys/query`: every queried user of this server appears in `device_keys`, `{}` when it has no device keys
 *   (`query_local_devices`: "make sure that each queried user appears in the result dict"); invalid user IDs and
 *   users of other servers are left out (no federation here, so there is no server to report in `failures`).
 *   Cross-signing keys are never stored, so `master_keys`, `self_signing_keys` and `user_signing_keys` are empty.
 * - `/keys/claim` (stable): one key per (user, device, algorithm), fallback keys only when no one-time key is
 *   left (`claim_local_one_time_keys` with `always_include_fallback_keys=False`). `timeout` is accepted and
 *   ignored: every user is local.
 * - `/keys/signatures/upload`: this server stores no cross-signing keys, so every submitted signature fails
 *   exactly as Synapse reports it for a user without them: `failures[user][key] = {status: 404, errcode:
 *   M_NOT_FOUND, message: "No self_signing key found for <me>"}` (own keys) or `"No user_signing key …"`
 *   (others'). An empty body gets `{failures: {}}`. The request completes either way, which is all a client's
 *   outgoing-request queue needs.
 * - `/keys/changes?from=<classic next_batch>`: users whose keys changed after `from` (the `to` parameter is
 *   ignored, as Synapse ignores it).
 */
import type {
  KeysChangesResponse,
  KeysClaimResponse,
  KeysQueryResponse,
  KeysUploadResponse,
  SignatureFailure,
  SignaturesUploadResponse,
} from '../shared/e2e-keys-wire';
import {
  KEYS_CHANGES_PATH,
  KEYS_CLAIM_PATH,
  KEYS_QUERY_PATH,
  KEYS_SIGNATURES_UPLOAD_PATH,
  KEYS_UPLOAD_PATH,
} from '../shared/e2e-keys-wire';
import { ErrCode } from '../shared/matrix-errors';
import type { HomeserverContext } from './context';
import { immediate } from './db';
import type { ClaimRequest } from './e2e-key-store';
import { badJson, invalidParam, missingParam } from './errors';
import { isJsonObject, objectBody, type JsonObject } from './json-checks';
import { parseKeysUpload } from './keys-upload-checks';
import type { Route, RouteRequest } from './router';
import { splitClassicSince } from './classic-sync-rooms';
import { verifyClassicSince } from './to-device-since';

const USER_ID_PATTERN = /^@[^:]+:(.+)$/;

export function keysRoutes(ctx: HomeserverContext): Route[] {
  const isLocalUser = (userId: string): boolean => USER_ID_PATTERN.exec(userId)?.[1] === ctx.serverName;

  const upload = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    ctx.faults.throwIfErrorFault(me.userId, me.deviceId, 'keys/upload');
    const parsed = parseKeysUpload(request.body, me);
    const stored = immediate(ctx.db, () => {
      const { deviceKeysChanged } = ctx.keys.upload(me.userId, me.deviceId, parsed);
      return { deviceKeysChanged, counts: ctx.keys.oneTimeKeyCounts(me.userId, me.deviceId) };
    });
    // After the commit, as device-waiters.ts requires: polls that report device lists answer now.
    if (stored.deviceKeysChanged) ctx.waiters.notifyKeyChanges(ctx.deviceLists.interestedUsers(me.userId));
    const body: KeysUploadResponse = { one_time_key_counts: stored.counts };
    return { status: 200, body, fault: ctx.faults.responseFault(me.userId, me.deviceId, 'keys/upload') };
  };

  const query = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    ctx.faults.throwIfErrorFault(me.userId, me.deviceId, 'keys/query');
    const wanted = parseQuery(objectBody(request.body));
    const deviceKeys = wanted
      .filter(([userId]) => isLocalUser(userId))
      .map(([userId, deviceIds]) => [userId, ctx.keys.deviceKeysOf(userId, deviceIds)] as const);
    const body: KeysQueryResponse = {
      device_keys: Object.fromEntries(deviceKeys) as KeysQueryResponse['device_keys'],
      failures: {},
      master_keys: {},
      self_signing_keys: {},
      user_signing_keys: {},
    };
    return { status: 200, body, fault: ctx.faults.responseFault(me.userId, me.deviceId, 'keys/query') };
  };

  const claim = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    ctx.faults.throwIfErrorFault(me.userId, me.deviceId, 'keys/claim');
    const requests = parseClaim(objectBody(request.body)).filter((wanted) => isLocalUser(wanted.userId));
    const claimed = immediate(ctx.db, () => ctx.keys.claim(requests));
    const body: KeysClaimResponse = { one_time_keys: claimed as KeysClaimResponse['one_time_keys'], failures: {} };
    return { status: 200, body, fault: ctx.faults.responseFault(me.userId, me.deviceId, 'keys/claim') };
  };

  const changes = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const from = request.query.get('from');
    if (from === null) throw missingParam('Missing string query parameter "from"');
    const position = ctx.deviceLists.position();
    // A classic next_batch may carry room-side positions after its to-device part; only the latter matters here.
    const toDevicePart = splitClassicSince(from).toDevice ?? from;
    const since = verifyClassicSince(ctx.tokens, ctx.queue, position, toDevicePart, me.userId, me.deviceId);
    const body: KeysChangesResponse = ctx.deviceLists.changes(me.userId, since.deviceListStreamId, position);
    return { status: 200, body };
  };

  const signatures = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const body: SignaturesUploadResponse = { failures: signatureFailures(objectBody(request.body), me.userId) };
    return { status: 200, body };
  };

  return [
    { method: 'POST', pattern: KEYS_UPLOAD_PATH, hasBody: true, handle: upload },
    { method: 'POST', pattern: KEYS_QUERY_PATH, hasBody: true, handle: query },
    { method: 'POST', pattern: KEYS_CLAIM_PATH, hasBody: true, handle: claim },
    { method: 'GET', pattern: KEYS_CHANGES_PATH, handle: changes },
    { method: 'POST', pattern: KEYS_SIGNATURES_UPLOAD_PATH, hasBody: true, handle: signatures },
  ];
}

/** `device_keys`: user ID → device IDs. Synapse's checks and messages (`KeyQueryServlet.on_POST`, M_BAD_JSON). */
function parseQuery(body: JsonObject): Array<[userId: string, deviceIds: string[]]> {
  const deviceKeys = body.device_keys;
  if (!isJsonObject(deviceKeys)) throw badJson("'device_keys' must be a JSON object");
  return Object.entries(deviceKeys).map(([userId, deviceIds]) => {
    if (!Array.isArray(deviceIds) || !deviceIds.every((id) => typeof id === 'string')) {
      throw badJson("'device_keys' values must be a list of strings");
    }
    return [userId, deviceIds as string[]];
  });
}

/**
 * `one_time_keys`: user ID → device ID → algorithm. Synapse reads it unchecked (a wrong type is its 500); here a
 * wrong type is 400 `M_BAD_JSON`. A missing `one_time_keys` claims nothing, as in Synapse.
 */
function parseClaim(body: JsonObject): ClaimRequest[] {
  const raw = body.one_time_keys;
  if (raw === undefined) return [];
  if (!isJsonObject(raw)) throw badJson('"one_time_keys" must be an object of user ID → device ID → algorithm');
  const requests: ClaimRequest[] = [];
  for (const [userId, byDevice] of Object.entries(raw)) {
    if (!isJsonObject(byDevice)) throw badJson(`"one_time_keys.${userId}" must be an object of device ID → algorithm`);
    for (const [deviceId, algorithm] of Object.entries(byDevice)) {
      if (typeof algorithm !== 'string') throw badJson(`"one_time_keys.${userId}.${deviceId}" must be an algorithm name`);
      requests.push({ userId, deviceId, algorithm });
    }
  }
  return requests;
}

/** See the module header: with no cross-signing keys stored, every signature fails as in Synapse. */
function signatureFailures(body: JsonObject, me: string): SignaturesUploadResponse['failures'] {
  const failures: Array<[string, Record<string, SignatureFailure>]> = [];
  for (const [userId, signed] of Object.entries(body)) {
    // Synapse `_process_self_signatures` / `_process_other_signatures`: 400 M_INVALID_PARAM "Invalid parameter".
    if (!isJsonObject(signed)) throw invalidParam('Invalid parameter');
    const keyIds = Object.keys(signed);
    if (keyIds.length === 0) continue;
    const keyType = userId === me ? 'self_signing' : 'user_signing';
    const failure: SignatureFailure = { status: 404, errcode: ErrCode.notFound, message: `No ${keyType} key found for ${me}` };
    failures.push([userId, Object.fromEntries(keyIds.map((keyId) => [keyId, failure]))]);
  }
  return Object.fromEntries(failures);
}
