/**
 * Passwords, access tokens and request authentication.
 *
 * Runtime: node (homeserver only).
 *
 * Passwords are stored as `scrypt$<salt>$<hash>` (node:crypto scrypt, 16-byte salt, 32-byte key) and compared
 * in constant time. Access tokens are random and live in SQLite, so they survive a restart together with the
 * queue they give access to. A token is taken from `Authorization: Bearer` or, as the Client-Server API still
 * allows, from the `access_token` query parameter.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ErrCode } from '../shared/matrix-errors';
import type { Db } from './db';
import { MatrixError } from './errors';
import type { RouteRequest } from './router';

const SALT_BYTES = 16;
const KEY_BYTES = 32;

export interface Requester {
  userId: string;
  deviceId: string;
  accessToken: string;
}

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, saltHex, keyHex] = stored.split('$');
  if (scheme !== 'scrypt' || saltHex === undefined || keyHex === undefined) return false;
  const expected = Buffer.from(keyHex, 'hex');
  const actual = await scryptAsync(password, Buffer.from(saltHex, 'hex'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function newAccessToken(): string {
  return `td_${randomBytes(24).toString('base64url')}`;
}

/** The token a request carries, or undefined when it carries none. */
export function bearerToken(request: Pick<RouteRequest, 'headers' | 'query'>): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] !== undefined) return match[1];
  }
  return request.query.get('access_token') ?? undefined;
}

export class Authenticator {
  private readonly lookup;

  constructor(db: Db) {
    this.lookup = db.prepare('SELECT user_id, device_id FROM access_tokens WHERE token = ?');
  }

  /** The user and device behind the request's access token; 401 when it is missing or unknown. */
  authenticate(request: Pick<RouteRequest, 'headers' | 'query'>): Requester {
    const token = bearerToken(request);
    if (token === undefined) throw new MatrixError(401, ErrCode.missingToken, 'missing access token');
    const row = this.lookup.get(token) as { user_id: string; device_id: string } | undefined;
    if (row === undefined) {
      throw new MatrixError(401, ErrCode.unknownToken, 'unknown access token', { soft_logout: false });
    }
    return { userId: row.user_id, deviceId: row.device_id, accessToken: token };
  }
}
