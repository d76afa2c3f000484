import { describe, expect, it } from 'vitest';
import { SyncTokens } from '../../../src/homeserver/sync-tokens';

describe('sync tokens', () => {
  const tokens = new SyncTokens('secret');

  it('sync tokens: a token issued to a device verifies for that device only', () => {
    const token = tokens.issue('to-device', '@a:hs', 'D1', 42);
    expect(token).toMatch(/^42_[0-9a-f]{10}$/);
    expect(tokens.verify('to-device', token, '@a:hs', 'D1')).toBe(42);
    expect(tokens.verify('to-device', token, '@a:hs', 'D2')).toBeUndefined();
    expect(tokens.verify('to-device', token, '@b:hs', 'D1')).toBeUndefined();
  });

  it('sync tokens: the two kinds are not interchangeable', () => {
    const classic = tokens.issue('classic', '@a:hs', 'D1', 7);
    expect(classic).toMatch(/^s7_/);
    expect(tokens.verify('classic', classic, '@a:hs', 'D1')).toBe(7);
    expect(tokens.verify('to-device', classic.slice(1), '@a:hs', 'D1')).toBeUndefined();
  });

  it('sync tokens: garbage, a changed stream id or another secret do not verify', () => {
    const token = tokens.issue('to-device', '@a:hs', 'D1', 5);
    for (const bad of ['', 'garbage', '5', '5_', `6${token.slice(1)}`, `${token}0`, '1'.repeat(20) + token.slice(1)]) {
      expect(tokens.verify('to-device', bad, '@a:hs', 'D1'), bad).toBeUndefined();
    }
    expect(new SyncTokens('other').verify('to-device', token, '@a:hs', 'D1')).toBeUndefined();
  });
});
