// Canonical JSON (src/shared/canonical-json.ts), with the examples of the Matrix specification's "Signing JSON".
import { describe, expect, it } from 'vitest';
import { canonicalJson, signedPart } from '../../../src/shared/canonical-json';

describe('canonical json', () => {
  it('canonical json: the specification examples encode byte for byte', () => {
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson({ one: 1, two: 'Two' })).toBe('{"one":1,"two":"Two"}');
    expect(canonicalJson({ b: '2', a: '1' })).toBe('{"a":"1","b":"2"}');
    expect(canonicalJson({ auth: { success: true, mxid: '@john.doe:example.com', profile: { display_name: 'John Doe', three_pids: [{ medium: 'email', address: 'john.doe@example.org' }, { medium: 'msisdn', address: '123456789' }] } } })).toBe(
      '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    );
    expect(canonicalJson({ a: '日本語' })).toBe('{"a":"日本語"}');
    expect(canonicalJson({ 本: 2, 日: 1 })).toBe('{"日":1,"本":2}');
    expect(canonicalJson({ a: '\u65E5' })).toBe('{"a":"日"}');
    expect(canonicalJson({ a: null })).toBe('{"a":null}');
    expect(canonicalJson({ a: -0, b: 9007199254740991 })).toBe('{"a":0,"b":9007199254740991}');
    expect(canonicalJson({ a: 'line\nbreak "quoted" \\ \u0001' })).toBe('{"a":"line\\nbreak \\"quoted\\" \\\\ \\u0001"}');
  });

  it('canonical json: keys sort by code point, not by UTF-16 unit', () => {
    // U+FFFF sorts before U+10000 by code point; by UTF-16 units U+10000 (a surrogate pair, 0xD800…) comes first.
    expect(canonicalJson({ '\u{10000}': 2, '\uFFFF': 1 })).toBe('{"\uFFFF":1,"\u{10000}":2}');
    expect(canonicalJson({ ab: 2, a: 1 })).toBe('{"a":1,"ab":2}');
  });

  it('canonical json: values without a canonical form throw', () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(TypeError);
    expect(() => canonicalJson({ a: 2 ** 53 })).toThrow(TypeError);
    expect(() => canonicalJson({ a: undefined })).toThrow(TypeError);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(TypeError);
  });

  it('canonical json: the signed part leaves out signatures and unsigned only', () => {
    expect(signedPart({ a: 1, signatures: {}, unsigned: {}, keys: {} })).toEqual({ a: 1, keys: {} });
  });
});
