/**
 * Whether the recipient of `todevice send` exists, asked of the server before anything is sent: the user by
 * `GET /profile/{userId}` (404 `M_NOT_FOUND` for an unknown user) and the device by `/keys/query` (a device that
 * published keys is listed; a device that did not, or does not exist, is not: the Client-Server API has no way
 * to list another user's devices without keys).
 *
 * Runtime: node. A homeserver accepts to-device messages for a user or device it does not know (the sender cannot
 * know which devices exist right now), so for plaintext messages this is a note, and the command still exits 0
 * once the server accepted them. Olm encryption needs the device's published keys, so `--encrypted` refuses a
 * recipient without them. A server that does not answer the check leaves it `unchecked`, never a refusal.
 */
import { describeClientError } from '../engine/describe-failure';
import type { MatrixClient } from '../engine/matrix-client';

export type RecipientCheck =
  | { kind: 'device-has-keys' }
  | { kind: 'device-without-keys'; devicesWithKeys: string[] }
  | { kind: 'unknown-user' }
  | { kind: 'unchecked'; reason: string };

export interface Recipient {
  userId: string;
  deviceId: string;
}

export async function checkRecipient(client: MatrixClient, recipient: Recipient): Promise<RecipientCheck> {
  const profile = await client.profile(recipient.userId);
  if (!profile.ok && profile.error.kind === 'http' && profile.error.status === 404 && profile.error.errcode === 'M_NOT_FOUND') return { kind: 'unknown-user' };
  const keys = await client.queryKeys({ device_keys: { [recipient.userId]: [] } });
  if (!keys.ok) return { kind: 'unchecked', reason: `keys/query: ${describeClientError(keys.error)}` };
  const devices = Object.keys(keys.value.device_keys[recipient.userId] ?? {});
  return devices.includes(recipient.deviceId) ? { kind: 'device-has-keys' } : { kind: 'device-without-keys', devicesWithKeys: devices.sort() };
}

/**
 * What to tell the person: a note to print (plaintext), or a refusal (`--encrypted` and no keys to encrypt for).
 * Undefined when there is nothing to say.
 */
export function recipientNotice(check: RecipientCheck, recipient: Recipient, options: { encrypted: boolean }): { line: string; refuse: boolean } | undefined {
  const { userId, deviceId } = recipient;
  switch (check.kind) {
    case 'device-has-keys':
      return undefined;
    case 'unchecked':
      return { line: `note: could not check that ${userId} device ${deviceId} exists (${check.reason})`, refuse: false };
    case 'unknown-user':
      return options.encrypted
        ? { line: `cannot encrypt for ${userId}: the homeserver knows no such user`, refuse: true }
        : { line: `note: the homeserver knows no user ${userId}; it accepts the messages, but no device will receive them`, refuse: false };
    case 'device-without-keys': {
      const others = check.devicesWithKeys.length === 0 ? 'no device of that user has any' : `devices with keys: ${check.devicesWithKeys.join(', ')}`;
      return options.encrypted
        ? { line: `cannot encrypt for ${userId} device ${deviceId}: it has published no encryption keys (${others})`, refuse: true }
        : { line: `note: ${userId} has no device ${deviceId} with published keys (${others}); if that device does not exist, it will never receive these messages`, refuse: false };
    }
  }
}
