// The e2ee fields of a sync response (one-time key counts, unused fallback key types, changed device lists), from
// the sliding sync extension and from classic /sync, and what is left out when malformed.
import { describe, expect, it } from 'vitest';
import { parseClassicSync, parseE2eeFields, parseSlidingSyncToDevice } from '../../../src/engine/sync-responses';

describe('e2ee fields of a sync response', () => {
  it('sliding sync: the e2ee extension beside to_device', () => {
    const parsed = parseSlidingSyncToDevice({
      pos: '1',
      extensions: {
        to_device: { next_batch: 't1', events: [] },
        e2ee: { device_one_time_keys_count: { signed_curve25519: 12 }, device_unused_fallback_key_types: ['signed_curve25519'], device_lists: { changed: ['@a:x'], left: [] } },
      },
    });
    expect(parsed.ok && parsed.value.e2ee).toEqual({ oneTimeKeyCounts: { signed_curve25519: 12 }, unusedFallbackKeyTypes: ['signed_curve25519'], changedUsers: ['@a:x'] });
  });

  it('classic sync: the top-level fields; a response without counts has no e2ee report', () => {
    const parsed = parseClassicSync({ next_batch: 's1', device_one_time_keys_count: { signed_curve25519: 3 } });
    expect(parsed.ok && parsed.value.e2ee).toEqual({ oneTimeKeyCounts: { signed_curve25519: 3 }, unusedFallbackKeyTypes: null, changedUsers: [] });
    const without = parseClassicSync({ next_batch: 's1' });
    expect(without.ok && without.value.e2ee).toBeUndefined();
  });

  it('malformed members are left out, not fatal', () => {
    expect(parseE2eeFields({ device_one_time_keys_count: { signed_curve25519: -1, other: 2.5, fine: 4 }, device_unused_fallback_key_types: 'x', device_lists: { changed: [1, '@b:x'] } })).toEqual({
      oneTimeKeyCounts: { fine: 4 },
      unusedFallbackKeyTypes: null,
      changedUsers: ['@b:x'],
    });
    expect(parseE2eeFields('nope')).toBeUndefined();
  });
});
