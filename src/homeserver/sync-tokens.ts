/**
 * The opaque positions the homeserver hands out: the to-device extension's `next_batch` and classic sync's.
 *
 * Runtime: node (homeserver only).
 *
 * Formats (opaque to clients):
 * - to-device extension (MSC3885): `<streamId>_<mac>`, e.g. `42_9f3a0c11be`
 * - classic `/v3/sync`:            `s<streamId>_<deviceListStreamId>_<mac>`, e.g. `s42_7_03be9a1c4d`
 * where `mac` is the first 10 hex characters of HMAC-SHA256(secret, `<kind>|<userId>|<deviceId>|<streamId>`),
 * the classic kind writing `classic+dl` and appending `|<deviceListStreamId>`. The classic token carries two
 * positions because classic sync has no `pos`: the to-device one is acknowledged, the device list one says which
 * key changes the client has already been told about (see device-list-stream.ts). Classic tokens issued before
 * the second position existed, `s<streamId>_<mac>`, still verify, with device list position 0: the next sync
 * then reports every change once more, which costs a key query and loses nothing.
 *
 * Why a MAC: MSC4538 requires a `since` the server could not have issued to be rejected with 400
 * `M_INVALID_PARAM` and to delete nothing. Binding the token to the user and device makes garbage and another
 * device's tokens fail verification. The third case, a token "from the future" (its stream id is above the
 * highest position ever issued to this device, as after restoring an older database), is caught by the caller
 * against `devices.max_issued_stream_id`, since a valid MAC cannot tell it apart. The secret lives in the
 * database, so tokens stay valid across restarts.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { RecentMacs } from './recent-macs';

export type TokenKind = 'to-device' | 'classic';

/** Both positions of a classic `/v3/sync` token. */
export interface ClassicPositions {
  toDeviceStreamId: number;
  deviceListStreamId: number;
}

const MAC_HEX_CHARS = 10;
const PATTERNS: Record<TokenKind, RegExp> = {
  'to-device': /^(\d{1,15})_([0-9a-f]{10})$/,
  classic: /^s(\d{1,15})_([0-9a-f]{10})$/,
};
const CLASSIC_PATTERN = /^s(\d{1,15})_(\d{1,15})_([0-9a-f]{10})$/;

export class SyncTokens {
  /** Imported once: handing `createHmac` the secret as a string re-imports the key on every token. */
  private readonly key: KeyObject;
  /** The next request verifies the token just issued: its MAC is remembered (recent-macs.ts). */
  private readonly recent = new RecentMacs();

  constructor(secret: string) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** A token of `kind`; a classic one also needs the device list position it stands for. */
  issue(kind: TokenKind, userId: string, deviceId: string, streamId: number, deviceListStreamId?: number): string {
    if (kind === 'to-device') {
      if (deviceListStreamId !== undefined) throw new Error('to-device tokens carry no device list position');
      return `${streamId}_${this.mac(`${kind}|${userId}|${deviceId}|${streamId}`)}`;
    }
    if (deviceListStreamId === undefined) throw new Error('classic tokens carry a device list position');
    return `s${streamId}_${deviceListStreamId}_${this.mac(classicMacInput(userId, deviceId, streamId, deviceListStreamId))}`;
  }

  /**
   * The to-device stream id inside `token` when this server issued it for this user and device, else
   * undefined. It does not check "from the future"; see the module header.
   */
  verify(kind: TokenKind, token: string, userId: string, deviceId: string): number | undefined {
    if (kind === 'classic') return this.verifyClassic(token, userId, deviceId)?.toDeviceStreamId;
    return this.verifyLegacyFormat(kind, token, userId, deviceId);
  }

  /** Both positions of a classic token this server issued for this user and device, else undefined. */
  verifyClassic(token: string, userId: string, deviceId: string): ClassicPositions | undefined {
    const match = CLASSIC_PATTERN.exec(token);
    if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined) {
      const legacy = this.verifyLegacyFormat('classic', token, userId, deviceId);
      return legacy === undefined ? undefined : { toDeviceStreamId: legacy, deviceListStreamId: 0 };
    }
    const positions = { toDeviceStreamId: Number(match[1]), deviceListStreamId: Number(match[2]) };
    const input = classicMacInput(userId, deviceId, positions.toDeviceStreamId, positions.deviceListStreamId);
    return sameMac(this.mac(input), match[3]) ? positions : undefined;
  }

  /** `<streamId>_<mac>` (to-device) or `s<streamId>_<mac>` (classic tokens of older releases). */
  private verifyLegacyFormat(kind: TokenKind, token: string, userId: string, deviceId: string): number | undefined {
    const match = PATTERNS[kind].exec(token);
    if (match?.[1] === undefined || match[2] === undefined) return undefined;
    const streamId = Number(match[1]);
    return sameMac(this.mac(`${kind}|${userId}|${deviceId}|${streamId}`), match[2]) ? streamId : undefined;
  }

  private mac(input: string): string {
    return this.recent.of(input, (text) => createHmac('sha256', this.key).update(text).digest('hex').slice(0, MAC_HEX_CHARS));
  }
}

/**
 * Its own kind label, so no classic token of the older format (`classic|…|<streamId>`) can be read as one of
 * this format for a device whose ID contains `|`.
 */
function classicMacInput(userId: string, deviceId: string, streamId: number, deviceListStreamId: number): string {
  return `classic+dl|${userId}|${deviceId}|${streamId}|${deviceListStreamId}`;
}

function sameMac(expected: string, actual: string): boolean {
  return timingSafeEqual(Buffer.from(expected), Buffer.from(actual));
}
