import { createHmac } from 'node:crypto';
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
    const classic = tokens.issue('classic', '@a:hs', 'D1', 7, 3);
    expect(classic).toMatch(/^s7_3_[0-9a-f]{10}$/);
    expect(tokens.verify('classic', classic, '@a:hs', 'D1')).toBe(7);
    expect(tokens.verify('to-device', classic.slice(1), '@a:hs', 'D1')).toBeUndefined();
    const toDevice = tokens.issue('to-device', '@a:hs', 'D1', 7);
    expect(tokens.verify('classic', `s${toDevice}`, '@a:hs', 'D1')).toBeUndefined();
  });

  it('sync tokens: a classic token carries both positions, each covered by the MAC', () => {
    const classic = tokens.issue('classic', '@a:hs', 'D1', 7, 3);
    expect(tokens.verifyClassic(classic, '@a:hs', 'D1')).toEqual({ toDeviceStreamId: 7, deviceListStreamId: 3 });
    expect(tokens.verifyClassic(classic, '@a:hs', 'D2')).toBeUndefined();
    const mac = classic.split('_')[2] ?? '';
    for (const forged of [`s7_4_${mac}`, `s8_3_${mac}`, `s7_${mac}`]) {
      expect(tokens.verifyClassic(forged, '@a:hs', 'D1'), forged).toBeUndefined();
    }
  });

  it('sync tokens: a classic token of the older format still verifies, at device list position 0', () => {
    // The older format: `s<streamId>_<mac>`, MAC over `classic|user|device|streamId`.
    const older = `s7_${createHmac('sha256', 'secret').update('classic|@a:hs|D1|7').digest('hex').slice(0, 10)}`;
    expect(tokens.verifyClassic(older, '@a:hs', 'D1')).toEqual({ toDeviceStreamId: 7, deviceListStreamId: 0 });
    expect(tokens.verify('classic', older, '@a:hs', 'D1')).toBe(7);
    expect(tokens.verifyClassic(older, '@a:hs', 'D2')).toBeUndefined();
  });

  it('sync tokens: kinds insist on their positions', () => {
    expect(() => tokens.issue('classic', '@a:hs', 'D1', 7)).toThrow(/device list position/);
    expect(() => tokens.issue('to-device', '@a:hs', 'D1', 7, 1)).toThrow(/no device list position/);
  });

  it('sync tokens: garbage, a changed stream id or another secret do not verify', () => {
    const token = tokens.issue('to-device', '@a:hs', 'D1', 5);
    for (const bad of ['', 'garbage', '5', '5_', `6${token.slice(1)}`, `${token}0`, '1'.repeat(20) + token.slice(1)]) {
      expect(tokens.verify('to-device', bad, '@a:hs', 'D1'), bad).toBeUndefined();
    }
    expect(new SyncTokens('other').verify('to-device', token, '@a:hs', 'D1')).toBeUndefined();
  });
});
