/**
 * Accounts: `/versions`, register, login, whoami, logout, devices.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions:
 * - Register answers the usual 401 user-interactive-auth body (one `m.login.dummy` stage) when `auth` is
 *   missing, and checks the username first, as Synapse does, so `M_USER_IN_USE` comes before the 401.
 * - Logging in with an existing `device_id` keeps that device, its queue and its other access tokens: the main
 *   process and the notifier share one device, and neither may strand the other's messages.
 * - Logout revokes only the access token used. Synapse also deletes the device; we keep it (and its queue) for
 *   the same reason, so a logout never loses a to-device message.
 */
import { randomBytes } from 'node:crypto';
import { ErrCode } from '../shared/matrix-errors';
import type { LoginResponse } from '../shared/wire';
import { hashPassword, newAccessToken, verifyPassword } from './auth';
import type { HomeserverContext } from './context';
import { MatrixError, forbidden, invalidParam } from './errors';
import { objectBody, optionalBoolean, optionalObject, optionalString, requiredString } from './json-checks';
import type { Route } from './router';
import { immediate } from './db';

const LOCALPART_PATTERN = /^[a-z0-9._=\-/+]+$/;
const MAX_ID_LENGTH = 255;

export const SUPPORTED_VERSIONS = ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'];

export function accountRoutes(ctx: HomeserverContext): Route[] {
  const accounts = new Accounts(ctx);
  return [
    {
      method: 'GET',
      pattern: '/_matrix/client/versions',
      handle: () => ({
        status: 200,
        body: {
          versions: SUPPORTED_VERSIONS,
          unstable_features: {
            'org.matrix.msc3885': true,
            'org.matrix.msc4538': true,
            'org.matrix.simplified_msc3575': true,
          },
        },
      }),
    },
    { method: 'POST', pattern: '/_matrix/client/v3/register', hasBody: true, handle: (r) => accounts.register(r.body, r.query) },
    { method: 'GET', pattern: '/_matrix/client/v3/login', handle: () => ({ status: 200, body: { flows: [{ type: 'm.login.password' }] } }) },
    { method: 'POST', pattern: '/_matrix/client/v3/login', hasBody: true, handle: (r) => accounts.login(r.body) },
    {
      method: 'GET',
      pattern: '/_matrix/client/v3/account/whoami',
      handle: (r) => {
        const me = ctx.auth.authenticate(r);
        return { status: 200, body: { user_id: me.userId, device_id: me.deviceId, is_guest: false } };
      },
    },
    { method: 'POST', pattern: '/_matrix/client/v3/logout', hasBody: true, handle: (r) => accounts.logout(ctx.auth.authenticate(r).accessToken) },
    { method: 'GET', pattern: '/_matrix/client/v3/devices', handle: (r) => accounts.devices(ctx.auth.authenticate(r).userId) },
  ];
}

class Accounts {
  private readonly statements;

  constructor(private readonly ctx: HomeserverContext) {
    const db = ctx.db;
    this.statements = {
      findUser: db.prepare('SELECT user_id, password_hash FROM users WHERE user_id = ?'),
      insertUser: db.prepare('INSERT INTO users (user_id, password_hash, created_ts) VALUES (?, ?, ?)'),
      insertDevice: db.prepare(
        `INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_ts = excluded.last_seen_ts`,
      ),
      insertToken: db.prepare('INSERT INTO access_tokens (token, user_id, device_id, created_ts) VALUES (?, ?, ?, ?)'),
      deleteToken: db.prepare('DELETE FROM access_tokens WHERE token = ?'),
      listDevices: db.prepare('SELECT device_id, display_name, last_seen_ts FROM devices WHERE user_id = ? ORDER BY device_id'),
    };
  }

  async register(rawBody: unknown, query: URLSearchParams) {
    if (query.get('kind') === 'guest') throw forbidden('guest access is not supported');
    const body = objectBody(rawBody);
    const localpart = optionalString(body, 'username') ?? `user_${randomBytes(6).toString('hex')}`;
    const userId = this.userIdFor(localpart);
    if (this.statements.findUser.get(userId) !== undefined) throw userInUse();
    const auth = optionalObject(body, 'auth');
    if (auth?.type !== 'm.login.dummy') {
      throw new UserInteractiveAuthRequired(randomBytes(12).toString('base64url'));
    }
    const password = requiredString(body, 'password');
    const deviceId = this.deviceIdFrom(body);
    const displayName = optionalString(body, 'initial_device_display_name') ?? null;
    const inhibitLogin = optionalBoolean(body, 'inhibit_login') === true;
    const passwordHash = await hashPassword(password);
    const session = immediate(this.ctx.db, () => {
      if (this.statements.findUser.get(userId) !== undefined) throw userInUse();
      this.statements.insertUser.run(userId, passwordHash, Date.now());
      return inhibitLogin ? undefined : this.openSession(userId, deviceId, displayName);
    });
    return { status: 200, body: session ?? { user_id: userId, home_server: this.ctx.serverName } };
  }

  async login(rawBody: unknown) {
    const body = objectBody(rawBody);
    const type = requiredString(body, 'type');
    if (type !== 'm.login.password') throw new MatrixError(400, ErrCode.unknown, `unsupported login type ${type}`);
    const userId = this.userIdFor(this.loginUser(body));
    const password = requiredString(body, 'password');
    const deviceId = this.deviceIdFrom(body);
    const displayName = optionalString(body, 'initial_device_display_name') ?? null;
    const user = this.statements.findUser.get(userId) as { password_hash: string } | undefined;
    const ok = user !== undefined && (await verifyPassword(password, user.password_hash));
    if (!ok) throw forbidden('invalid username or password');
    const session = immediate(this.ctx.db, () => this.openSession(userId, deviceId, displayName));
    return { status: 200, body: session };
  }

  logout(accessToken: string) {
    this.statements.deleteToken.run(accessToken);
    return { status: 200, body: {} };
  }

  devices(userId: string) {
    const rows = this.statements.listDevices.all(userId) as Array<{
      device_id: string;
      display_name: string | null;
      last_seen_ts: number;
    }>;
    return { status: 200, body: { devices: rows.map((row) => ({ user_id: userId, ...row })) } };
  }

  /** Creates the device when it is new (an existing one keeps its queue) and a fresh access token for it. */
  private openSession(userId: string, deviceId: string, displayName: string | null): LoginResponse {
    const now = Date.now();
    this.statements.insertDevice.run(userId, deviceId, displayName, now, now);
    const accessToken = newAccessToken();
    this.statements.insertToken.run(accessToken, userId, deviceId, now);
    return { user_id: userId, access_token: accessToken, device_id: deviceId, home_server: this.ctx.serverName };
  }

  /** Accepts `identifier: {type: "m.id.user", user}` or the legacy top-level `user`. */
  private loginUser(body: Record<string, unknown>): string {
    const identifier = optionalObject(body, 'identifier');
    if (identifier === undefined) return requiredString(body, 'user');
    if (identifier.type !== 'm.id.user') throw new MatrixError(400, ErrCode.unknown, 'only m.id.user identifiers are supported');
    return requiredString(identifier, 'user');
  }

  /** A full user ID on this server from a localpart or `@localpart:server`. */
  private userIdFor(user: string): string {
    let localpart = user;
    if (user.startsWith('@')) {
      const colon = user.indexOf(':');
      if (colon === -1 || user.slice(colon + 1) !== this.ctx.serverName) {
        throw new MatrixError(400, ErrCode.invalidUsername, `user ID must be on ${this.ctx.serverName}`);
      }
      localpart = user.slice(1, colon);
    }
    const userId = `@${localpart}:${this.ctx.serverName}`;
    if (!LOCALPART_PATTERN.test(localpart) || userId.length > MAX_ID_LENGTH) {
      throw new MatrixError(400, ErrCode.invalidUsername, 'user names may contain only a-z, 0-9 and ._=-/+');
    }
    return userId;
  }

  private deviceIdFrom(body: Record<string, unknown>): string {
    const deviceId = optionalString(body, 'device_id');
    if (deviceId === undefined) return randomBytes(5).toString('hex').toUpperCase();
    if (deviceId === '' || deviceId.length > MAX_ID_LENGTH) throw invalidParam('"device_id" must be 1 to 255 characters');
    return deviceId;
  }
}

/**
 * The 401 that starts user-interactive auth. Its body has no `errcode`: the Client-Server API adds one only
 * when a stage failed, and clients (matrix-js-sdk) read an `errcode` here as a failed attempt.
 */
class UserInteractiveAuthRequired extends MatrixError {
  constructor(private readonly session: string) {
    super(401, ErrCode.forbidden, 'user-interactive authentication required');
  }

  override body(): Record<string, unknown> {
    return { flows: [{ stages: ['m.login.dummy'] }], session: this.session, params: {} };
  }
}

function userInUse(): MatrixError {
  return new MatrixError(400, ErrCode.userInUse, 'user ID already taken');
}
