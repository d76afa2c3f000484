// `--retain WHAT=LIMIT`: rows, ages, both, `all`; repeats accumulate, the last one for a WHAT wins; nonsense is refused.
import { describe, expect, it } from 'vitest';
import { collectRetain } from '../../../src/cli/retention-flags';
import { DAY_MS, resolveRetention } from '../../../src/store/retention-policy';

describe('--retain', () => {
  it('retain: rows, an age, both, and all become one options object over the defaults', () => {
    let options = collectRetain('timeline=20000/90d');
    options = collectRetain('notifier=5000/12h', options);
    options = collectRetain('handled=all', options);
    options = collectRetain('event-log=45min', options);
    options = collectRetain('inbox=0', options);
    options = collectRetain('notifications=500ms/10', options);
    expect(options).toEqual({
      timeline: { maxRows: 20_000, maxAgeMs: 90 * DAY_MS },
      notifierWindow: { maxRows: 5000, maxAgeMs: 12 * 3_600_000 },
      handled: { maxRows: null, maxAgeMs: null },
      eventLog: { maxRows: null, maxAgeMs: 45 * 60_000 },
      inbox: { maxRows: 0, maxAgeMs: null },
      notifications: { maxRows: 10, maxAgeMs: 500 },
    });
    expect(collectRetain('timeline=7d', options).timeline).toEqual({ maxRows: null, maxAgeMs: 7 * DAY_MS });
    expect(resolveRetention(options).timeline).toEqual({ maxRows: 20_000, maxAgeMs: 90 * DAY_MS });
  });

  it('retain: a malformed flag is refused with what was expected', () => {
    expect(() => collectRetain('timeline')).toThrow(/expected WHAT=LIMIT/);
    expect(() => collectRetain('cache=10')).toThrow(/WHAT one of inbox, notifier, handled, event-log, notifications, timeline/);
    for (const bad of ['timeline=lots', 'timeline=10/20', 'timeline=1d/2d', 'timeline=-5', 'timeline=1/2/3', 'timeline=']) {
      expect(() => collectRetain(bad), bad).toThrow(/LIMIT must be/);
    }
  });
});
