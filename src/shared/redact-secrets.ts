/**
 * Replaces key material in a to-device event's content by `"<redacted>"`, for anything that shows decrypted rows
 * to a person (`todevice inbox --json`, the dashboard, logs).
 *
 * Runtime: common (pure; returns a copy, never changes its input). What counts as key material, by event type:
 * - `m.room_key`, `m.forwarded_room_key`, `org.todevice.room_key`: `session_key` (also inside `room_key`), and
 *   for forwarded keys the chain is left (public keys) but `session_key` goes;
 * - `m.secret.send`: `secret`;
 * - `m.room.encrypted` (undecrypted): nothing, its ciphertext is safe to show;
 * - any type: fields named like key material (`session_key`, `secret`, `private_key`, `pickle`, `pickle_key`,
 *   `passphrase`, `recovery_key`) at any depth, so a new secret-bearing event type cannot leak by omission.
 */

export const REDACTED = '<redacted>';

const SECRET_FIELDS: ReadonlySet<string> = new Set(['session_key', 'secret', 'private_key', 'pickle', 'pickle_key', 'passphrase', 'recovery_key']);

const MAX_DEPTH = 32;

export function redactSecrets(type: string, content: Record<string, unknown>): Record<string, unknown> {
  if (type === 'm.room.encrypted') return structuredCopy(content, 0, false) as Record<string, unknown>;
  return structuredCopy(content, 0, true) as Record<string, unknown>;
}

function structuredCopy(value: unknown, depth: number, redact: boolean): unknown {
  if (depth > MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => structuredCopy(item, depth + 1, redact));
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    copy[key] = redact && SECRET_FIELDS.has(key) ? REDACTED : structuredCopy(member, depth + 1, redact);
  }
  return copy;
}
