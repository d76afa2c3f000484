import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/homeserver/canonical-json';

describe('canonical JSON', () => {
  it('canonical JSON: keys sorted at every depth, no whitespace, arrays kept in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('canonical JSON: keys sort by code point, so a character above U+FFFF comes after U+FFFD', () => {
    // UTF-16 code units would put U+1F600 (a surrogate pair, 0xD83D...) before U+FFFD.
    expect(canonicalJson({ '\u{1F600}': 1, '\uFFFD': 2, a: 3 })).toBe('{"a":3,"\uFFFD":2,"\u{1F600}":1}');
  });

  it('canonical JSON: two orderings of one object are the same string; undefined members are dropped', () => {
    expect(canonicalJson({ x: 1, y: [1, 2] })).toBe(canonicalJson({ y: [1, 2], x: 1, z: undefined }));
  });
});
