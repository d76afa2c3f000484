import { describe, expect, it } from 'vitest';
import { parseFilter, passes, roomPasses } from '../../../src/homeserver/sync-filter';

describe('sync filter', () => {
  it('filter: types with * wildcards, not_types first, senders and rooms', () => {
    const filter = { types: ['m.room.*'], not_types: ['m.room.member'], not_senders: ['@spam:hs'] };
    expect(passes(filter, { type: 'm.room.message', sender: '@a:hs' })).toBe(true);
    expect(passes(filter, { type: 'm.room.member', sender: '@a:hs' })).toBe(false);
    expect(passes(filter, { type: 'm.reaction', sender: '@a:hs' })).toBe(false);
    expect(passes(filter, { type: 'm.room.message', sender: '@spam:hs' })).toBe(false);
    expect(passes({ types: ['m.room.*'] }, { type: 'mXroomXmessage' })).toBe(false);
    expect(passes(undefined, { type: 'anything' })).toBe(true);
    expect(roomPasses({ rooms: ['!a:hs', '!b:hs'], not_rooms: ['!b:hs'] }, '!b:hs')).toBe(false);
    expect(roomPasses({ rooms: ['!a:hs'] }, '!a:hs')).toBe(true);
  });

  it('filter: the known fields must have the spec\'s types; unknown ones are kept', () => {
    expect(parseFilter({ room: { timeline: { limit: 3 } }, extra: { any: 1 } })).toEqual({ room: { timeline: { limit: 3 } }, extra: { any: 1 } });
    for (const bad of [null, [], { room: [] }, { room: { timeline: { limit: 0 } } }, { room: { state: { lazy_load_members: 1 } } }, { account_data: { senders: 'x' } }, { event_fields: [1] }]) {
      expect(() => parseFilter(bad), JSON.stringify(bad)).toThrow();
    }
  });
});
