/**
 * Matrix canonical JSON: object keys sorted by Unicode code point, no insignificant whitespace.
 *
 * Runtime: node (homeserver only).
 *
 * The key endpoints store what a device uploaded in this form and compare stored and re-uploaded keys as
 * strings, as Synapse does (`encode_canonical_json` in `_set_e2e_device_keys_txn`, `_set_e2e_fallback_keys_txn`
 * and `_upload_one_time_keys_for_user`): two uploads that differ only in key order or whitespace are the same
 * upload. The homeserver never verifies a signature, so byte-exactness with other implementations only matters
 * for this comparison; strings are escaped as `JSON.stringify` escapes them.
 */

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
    entries.sort(([a], [b]) => compareCodePoints(a, b));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Orders strings by Unicode code point. JavaScript's default sort compares UTF-16 code units, which puts a
 * character above U+FFFF (a surrogate pair) before U+E000..U+FFFF; the spec sorts by code point.
 */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i += 1) {
    const difference = (left[i]?.codePointAt(0) ?? 0) - (right[i]?.codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}
