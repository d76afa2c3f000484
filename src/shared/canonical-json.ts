/**
 * Canonical JSON as the Matrix specification defines it ("Signing JSON" in the appendices): object keys sorted
 * by Unicode code point, no insignificant whitespace, UTF-8 (JavaScript strings are turned into UTF-8 by the
 * caller), integers only.
 *
 * Runtime: common (pure). Signatures over device keys and one-time keys are made and checked over exactly these
 * bytes, so a peer (matrix-rust-sdk, Synapse) that re-encodes the object gets the same string. Guarantees:
 * - Keys are compared by code point, not by UTF-16 unit (they differ for characters above U+FFFF).
 * - Strings are escaped as `JSON.stringify` escapes them, which is the shortest form the spec asks for
 *   (`\"`, `\\`, `\b\f\n\r\t`, `\u00XX` for other control characters, everything else literal).
 * - A value that has no canonical form (a non-integer or unsafe number, `undefined`, a function) throws a
 *   `TypeError`: callers sign objects they built themselves, and verify others' objects inside a try.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON allows safe integers only, got ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      return JSON.stringify(value);
    case 'object':
      if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJson(item)).join(',')}]`;
      return canonicalObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
  }
}

function canonicalObject(object: Record<string, unknown>): string {
  const keys = Object.keys(object).sort(compareCodePoints);
  const members: string[] = [];
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) throw new TypeError(`canonical JSON cannot encode undefined (key ${JSON.stringify(key)})`);
    members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

function compareCodePoints(a: string, b: string): number {
  const left = Array.from(a);
  const right = Array.from(b);
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index += 1) {
    const difference = (left[index]?.codePointAt(0) ?? 0) - (right[index]?.codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

/** The object a signature covers: everything but `signatures` and `unsigned`. */
export function signedPart(object: Record<string, unknown>): Record<string, unknown> {
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = object;
  return rest;
}
