/**
 * Helpers for the key endpoint conformance tests: well-formed (but not cryptographically valid) device keys and
 * signed one-time keys, and thin wrappers over `/keys/*` and the e2ee parts of sync.
 *
 * The homeserver never verifies a signature (Synapse does not either), so random base64 strings stand in for
 * keys and signatures; the interop test (keys-olm-machine.test.ts) uploads real ones.
 */
import { randomBytes } from 'node:crypto';
import { api, slidingSync, type ApiResponse, type TestUser } from './support';

export function randomKey(): string {
  return randomBytes(32).toString('base64').replace(/=+$/, '');
}

export function deviceKeys(user: TestUser, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    user_id: user.userId,
    device_id: user.deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${user.deviceId}`]: randomKey(), [`ed25519:${user.deviceId}`]: randomKey() },
    signatures: { [user.userId]: { [`ed25519:${user.deviceId}`]: randomKey() } },
    ...overrides,
  };
}

export function signedKey(user: TestUser, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key: randomKey(), signatures: { [user.userId]: { [`ed25519:${user.deviceId}`]: randomKey() } }, ...extra };
}

/** `count` signed one-time keys with IDs `<prefix>0`, `<prefix>1`, … */
export function oneTimeKeys(user: TestUser, count: number, prefix = 'K'): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Array.from({ length: count }, (_, n) => [`signed_curve25519:${prefix}${n}`, signedKey(user)]));
}

export function uploadKeys(baseUrl: string, user: TestUser, body: unknown): Promise<ApiResponse> {
  return api(baseUrl, 'POST', '/_matrix/client/v3/keys/upload', { token: user.accessToken, body });
}

export function queryKeys(baseUrl: string, user: TestUser, deviceKeysQuery: Record<string, string[]>): Promise<ApiResponse> {
  return api(baseUrl, 'POST', '/_matrix/client/v3/keys/query', { token: user.accessToken, body: { device_keys: deviceKeysQuery, timeout: 10000 } });
}

export function claimKeys(baseUrl: string, user: TestUser, wanted: Record<string, Record<string, string>>): Promise<ApiResponse> {
  return api(baseUrl, 'POST', '/_matrix/client/v3/keys/claim', { token: user.accessToken, body: { one_time_keys: wanted, timeout: 10000 } });
}

/** Claims one `signed_curve25519` key of `target`'s device; the key ID → key map, `{}` when none was left. */
export async function claimOne(baseUrl: string, claimer: TestUser, target: TestUser): Promise<Record<string, unknown>> {
  const response = await claimKeys(baseUrl, claimer, { [target.userId]: { [target.deviceId]: 'signed_curve25519' } });
  if (response.status !== 200) throw new Error(`claim failed: ${JSON.stringify(response.body)}`);
  return response.body.one_time_keys[target.userId]?.[target.deviceId] ?? {};
}

/** A sliding sync request with only the e2ee extension; returns the response. */
export function e2eeSync(baseUrl: string, user: TestUser, pos?: string, enabled: boolean | undefined = true): Promise<ApiResponse> {
  const extensions = enabled === undefined ? {} : { e2ee: { enabled } };
  return slidingSync(baseUrl, user, { pos, body: { conn_id: 'keys', extensions } });
}

/** The caller's one-time key counts, read through the e2ee extension of a fresh connection. */
export async function keyCounts(baseUrl: string, user: TestUser): Promise<Record<string, number>> {
  const response = await e2eeSync(baseUrl, user);
  if (response.status !== 200) throw new Error(`sync failed: ${JSON.stringify(response.body)}`);
  return response.body.extensions.e2ee.device_one_time_keys_count;
}

/**
 * Creates a room as `creator` inviting every one of `invited`, of whom the first `joining` (default: all) join.
 */
export async function sharedRoom(baseUrl: string, creator: TestUser, invited: TestUser[], joining = invited.length): Promise<string> {
  const created = await api(baseUrl, 'POST', '/_matrix/client/v3/createRoom', {
    token: creator.accessToken,
    body: { invite: invited.map((member) => member.userId) },
  });
  const roomId = created.body.room_id as string;
  for (const member of invited.slice(0, joining)) {
    const joined = await api(baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: member.accessToken, body: {} });
    if (joined.status !== 200) throw new Error(`join failed: ${JSON.stringify(joined.body)}`);
  }
  return roomId;
}
