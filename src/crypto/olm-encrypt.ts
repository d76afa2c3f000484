/**
 * Encrypts one to-device payload for one device with an Olm session: the `m.room.encrypted` content the
 * recipient decrypts (the inverse of olm-decrypt.ts).
 *
 * Runtime: node / electron-utility, after `loadOlm()`. The payload carries what a recipient must check (the spec's
 * `sender`, `recipient`, `recipient_keys`, `keys`), so a recipient such as matrix-rust-sdk accepts it. The session
 * object advances; the caller pickles and stores it in the transaction that decided to send.
 */
import type { OlmDeviceRecord } from '../shared/olm-state';
import type { OlmEncryptedContent, OlmPayload } from '../shared/olm-wire';
import { OLM_ALGORITHM } from '../shared/olm-wire';
import type { OlmIdentity } from './olm-account';
import type { OlmSession } from './olm-library';

export function encryptForDevice(
  session: OlmSession,
  identity: OlmIdentity,
  recipient: OlmDeviceRecord,
  type: string,
  content: Record<string, unknown>,
): OlmEncryptedContent {
  const payload: OlmPayload = {
    type,
    content,
    sender: identity.userId,
    sender_device: identity.deviceId,
    recipient: recipient.userId,
    recipient_keys: { ed25519: recipient.ed25519 },
    keys: { ed25519: identity.ed25519 },
  };
  const message = session.encrypt(JSON.stringify(payload));
  return {
    algorithm: OLM_ALGORITHM,
    sender_key: identity.curve25519,
    ciphertext: { [recipient.curve25519]: { type: message.type, body: message.body } },
  };
}
