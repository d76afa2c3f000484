/**
 * The identity of an Olm-encrypted to-device message that both the sender and the server can see: a digest of its
 * ciphertext. The tag of an encrypted message lives inside the Olm payload, which the server cannot read, so the
 * oracle matches a queued `m.room.encrypted` row to the message the kit sent by this digest instead.
 *
 * Runtime: node. Guarantees: the digest is computed from the `ciphertext` map of an `m.olm.v1.curve25519-aes-sha2`
 * content exactly as the server stores it (every recipient key's `type` and `body`, in key order), so the same
 * content gives the same digest on both sides, and different Olm messages (each body is fresh ciphertext) give
 * different ones. It reveals nothing of the plaintext. Content that is not Olm has no digest.
 */
import { createHash } from 'node:crypto';

export function ciphertextDigest(content: Record<string, unknown>): string | undefined {
  const ciphertext = content.ciphertext;
  if (typeof ciphertext !== 'object' || ciphertext === null || Array.isArray(ciphertext)) return undefined;
  const entries = Object.entries(ciphertext as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return undefined;
  const hash = createHash('sha256');
  for (const [recipientKey, message] of entries) {
    if (typeof message !== 'object' || message === null) return undefined;
    const { type, body } = message as { type?: unknown; body?: unknown };
    if (typeof body !== 'string') return undefined;
    hash.update(`${recipientKey}\u0000${String(type)}\u0000${body}\u0000`);
  }
  return hash.digest('base64url').slice(0, 22);
}
