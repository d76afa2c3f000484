/**
 * The opaque positions the homeserver hands out: the to-device extension's `next_batch` and classic sync's.
 *
 * Runtime: node (homeserver only).
 *
 * Formats (opaque to clients):
 * - to-device extension (MSC3885): `<streamId>_<mac>`, e.g. `42_9f3a0c11be`
 * - classic `/v3/sync`:            `s<streamId>_<mac>`
 * where `mac` is the first 10 hex characters of HMAC-SHA256(secret, `<kind>|<userId>|<deviceId>|<streamId>`).
 *
 * Why a MAC: MSC4538 requires a `since` the server could not have issued to be rejected with 400
 * `M_INVALID_PARAM` and to delete nothing. Binding the token to the user and device makes garbage and another
 * device's tokens fail verification. The third case, a token "from the future" (its stream id is above the
 * highest position ever issued to this device, as after restoring an older database), is caught by the caller
 * against `devices.max_issued_stream_id`, since a valid MAC cannot tell it apart. The secret lives in the
 * database, so tokens stay valid across restarts.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export type TokenKind = 'to-device' | 'classic';

const MAC_HEX_CHARS = 10;
const PATTERNS: Record<TokenKind, RegExp> = {
  'to-device': /^(\d{1,15})_([0-9a-f]{10})$/,
  classic: /^s(\d{1,15})_([0-9a-f]{10})$/,
};

export class SyncTokens {
  /** Imported once: handing `createHmac` the secret as a string re-imports the key on every token. */
  private readonly key: KeyObject;

  constructor(secret: string) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  issue(kind: TokenKind, userId: string, deviceId: string, streamId: number): string {
    const mac = this.mac(kind, userId, deviceId, streamId);
    return kind === 'classic' ? `s${streamId}_${mac}` : `${streamId}_${mac}`;
  }

  /**
   * The stream id inside `token` when this server issued it for this user and device, else undefined.
   * It does not check "from the future"; see the module header.
   */
  verify(kind: TokenKind, token: string, userId: string, deviceId: string): number | undefined {
    const match = PATTERNS[kind].exec(token);
    if (match?.[1] === undefined || match[2] === undefined) return undefined;
    const streamId = Number(match[1]);
    const expected = Buffer.from(this.mac(kind, userId, deviceId, streamId));
    const actual = Buffer.from(match[2]);
    return timingSafeEqual(expected, actual) ? streamId : undefined;
  }

  private mac(kind: TokenKind, userId: string, deviceId: string, streamId: number): string {
    return createHmac('sha256', this.key)
      .update(`${kind}|${userId}|${deviceId}|${streamId}`)
      .digest('hex')
      .slice(0, MAC_HEX_CHARS);
  }
}
