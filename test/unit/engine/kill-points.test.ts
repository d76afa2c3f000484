import { describe, expect, it } from 'vitest';
import { createKillPoints, createProcessKillPoints, killPointConfigFromEnv, parseKillPointSpec } from '../../../src/engine/kill-points';

describe('kill points', () => {
  it('kill points: a spec names a point and optionally the nth hit', () => {
    expect(parseKillPointSpec('mid-commit')).toEqual({ ok: true, value: { name: 'mid-commit', nth: 1 } });
    expect(parseKillPointSpec('after-commit-before-ack:3')).toEqual({ ok: true, value: { name: 'after-commit-before-ack', nth: 3 } });
  });

  it('kill points: unknown names, bad counts and extra parts are refused', () => {
    expect(parseKillPointSpec('nowhere').ok).toBe(false);
    expect(parseKillPointSpec('mid-commit:0').ok).toBe(false);
    expect(parseKillPointSpec('mid-commit:x').ok).toBe(false);
    expect(parseKillPointSpec('mid-commit:1:2').ok).toBe(false);
  });

  it('kill points: the environment arms one process by name', () => {
    const env = { TODEVICE_KILL_AT: 'mid-commit:2', TODEVICE_KILL_PROCESS: 'notifier' };
    expect(killPointConfigFromEnv(env)).toEqual({ ok: true, value: { name: 'mid-commit', nth: 2, processName: 'notifier' } });
    expect(killPointConfigFromEnv({})).toEqual({ ok: true, value: undefined });
    expect(() => createProcessKillPoints('main', undefined, { TODEVICE_KILL_AT: 'bogus' })).toThrow(/unknown/);
  });

  it('kill points: only the nth hit in the named process fires', () => {
    const fired: string[] = [];
    const points = createKillPoints({ name: 'mid-commit', nth: 2, processName: 'main' }, 'main', (name) => fired.push(name));
    points.hit('mid-commit');
    points.hit('after-commit-before-ack');
    expect(fired).toEqual([]);
    points.hit('mid-commit');
    points.hit('mid-commit');
    expect(fired).toEqual(['mid-commit']);
    expect(points.hits.get('mid-commit')).toBe(3);
    const elsewhere = createKillPoints({ name: 'mid-commit', nth: 1, processName: 'notifier' }, 'main', (name) => fired.push(name));
    elsewhere.hit('mid-commit');
    expect(fired).toEqual(['mid-commit']);
  });
});
