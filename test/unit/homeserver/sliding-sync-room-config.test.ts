import { describe, expect, it } from 'vitest';
import { combine, parseLists, parseRoomConfig, parseSubscriptions, wantsState } from '../../../src/homeserver/sliding-sync-room-config';

describe('sliding sync room config', () => {
  it('room config: js-sdk tuples with wildcards, $ME and $LAZY, and the MSC\'s include/exclude form', () => {
    const tuples = combine([parseRoomConfig({ timeline_limit: 5, required_state: [['m.room.name', ''], ['m.room.member', '$ME'], ['m.room.member', '$LAZY']] })]);
    expect(tuples.timelineLimit).toBe(5);
    expect(tuples.lazyMembers).toBe(true);
    expect(wantsState(tuples, { type: 'm.room.name', state_key: '' }, '@me:hs')).toBe(true);
    expect(wantsState(tuples, { type: 'm.room.member', state_key: '@me:hs' }, '@me:hs')).toBe(true);
    expect(wantsState(tuples, { type: 'm.room.member', state_key: '@other:hs' }, '@me:hs')).toBe(false);
    expect(wantsState(tuples, { type: 'm.room.topic', state_key: '' }, '@me:hs')).toBe(false);
    const msc = combine([parseRoomConfig({ timeline_limit: 1, required_state: { include: [{}], exclude: [{ type: 'm.room.create', state_key: '' }] } })]);
    expect(wantsState(msc, { type: 'm.room.topic', state_key: '' }, '@me:hs')).toBe(true);
    expect(wantsState(msc, { type: 'm.room.create', state_key: '' }, '@me:hs')).toBe(false);
  });

  it('room config: combining takes the largest timeline and any config\'s state', () => {
    const names = parseRoomConfig({ timeline_limit: 1, required_state: [['m.room.name', '']] });
    const everything = parseRoomConfig({ timeline_limit: 20, required_state: { include: [{}], exclude: [{ type: 'm.room.name' }] } });
    const both = combine([names, everything]);
    expect(both.timelineLimit).toBe(20);
    expect(wantsState(both, { type: 'm.room.name', state_key: '' }, '@me:hs')).toBe(true);
  });

  it('lists: ranges or the MSC\'s range; odd values count as absent rather than failing', () => {
    const lists = parseLists({
      a: { ranges: [[0, 9], [20, 'x'], [5, 1]], timeline_limit: 500, required_state: 'all', filters: { is_invite: true, tags: ['t', 3] } },
      b: { range: [2, 4] },
      c: 'nonsense',
    });
    expect(lists.get('a')).toMatchObject({ ranges: [[0, 9]], timelineLimit: 100, filters: { isInvite: true, tags: ['t'] } });
    expect(lists.get('b')?.ranges).toEqual([[2, 4]]);
    expect(lists.get('c')).toMatchObject({ ranges: undefined, timelineLimit: 0, filters: {} });
    expect(parseLists('nonsense').size).toBe(0);
    expect(parseSubscriptions([1, 2]).size).toBe(0);
  });

  it('lists: more than 100 lists or subscriptions is refused', () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, {}]));
    expect(() => parseLists(many)).toThrow(/at most 100 lists/);
    expect(() => parseSubscriptions(many)).toThrow(/at most 100 room subscriptions/);
  });
});
