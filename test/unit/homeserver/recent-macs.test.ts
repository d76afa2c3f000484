import { describe, expect, it } from 'vitest';
import { RecentMacs } from '../../../src/homeserver/recent-macs';
import { SlidingSyncPos } from '../../../src/homeserver/sliding-sync-pos';
import { SyncTokens } from '../../../src/homeserver/sync-tokens';

describe('recent MACs', () => {
  it('recent MACs: a remembered input is not computed again, and the oldest input goes when the memo is full', () => {
    const computed: string[] = [];
    const compute = (input: string) => {
      computed.push(input);
      return `mac(${input})`;
    };
    const recent = new RecentMacs(2);
    expect(recent.of('a', compute)).toBe('mac(a)');
    expect(recent.of('a', compute)).toBe('mac(a)');
    expect(recent.of('b', compute)).toBe('mac(b)');
    expect(recent.of('c', compute)).toBe('mac(c)');
    expect(recent.of('b', compute)).toBe('mac(b)');
    expect(recent.of('a', compute)).toBe('mac(a)');
    expect(computed).toEqual(['a', 'b', 'c', 'a']);
  });

  it('recent MACs: a token or pos just issued still verifies only for its own device and unaltered', () => {
    const tokens = new SyncTokens('secret');
    const token = tokens.issue('to-device', '@a:hs', 'D1', 42);
    expect(tokens.verify('to-device', token, '@a:hs', 'D1')).toBe(42);
    expect(tokens.verify('to-device', token, '@a:hs', 'D2')).toBeUndefined();
    expect(tokens.verify('to-device', token.replace(/^42_/, '43_'), '@a:hs', 'D1')).toBeUndefined();
    expect(new SyncTokens('other secret').verify('to-device', token, '@a:hs', 'D1')).toBeUndefined();

    const positions = new SlidingSyncPos('secret');
    const binding = { userId: '@a:hs', deviceId: 'D1', connId: 'main', nonce: 'n1' };
    const pos = positions.issue(binding, { connectionId: 3, seq: 2, roomSeq: 0, deviceListStreamId: 5, roomPositions: undefined });
    const parsed = positions.parse(pos);
    if (parsed === undefined) throw new Error('the issued pos does not parse');
    expect(positions.verify(binding, pos, parsed)).toBe(true);
    expect(positions.verify({ ...binding, nonce: 'n2' }, pos, parsed)).toBe(false);
    const altered = pos.replace('.2.0.5.', '.2.0.6.');
    const parsedAltered = positions.parse(altered);
    if (parsedAltered === undefined) throw new Error('the altered pos does not parse');
    expect(positions.verify(binding, altered, parsedAltered)).toBe(false);
  });
});
