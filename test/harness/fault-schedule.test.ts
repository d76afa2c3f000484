// The schedule is a pure function of the seed and the options: same seed, same schedule; another seed, another.
import { describe, expect, it } from 'vitest';
import { buildSchedule, plannedFaultCounts, scheduleHash } from '../../src/harness/fault-schedule';
import { DEFAULT_RACE_OPTIONS, describeOptions, reproduceCommand, type RaceOptions } from '../../src/harness/race-options';

const options = (overrides: Partial<RaceOptions> = {}): RaceOptions => ({ ...DEFAULT_RACE_OPTIONS, ...overrides });

describe('fault schedule', () => {
  it('schedule: the same seed and options give the same schedule, byte for byte', () => {
    const first = buildSchedule(options({ seed: 42 }));
    const second = buildSchedule(options({ seed: 42 }));
    expect(second).toEqual(first);
    expect(scheduleHash(second)).toBe(scheduleHash(first));
  });

  it('schedule: different seeds give different schedules', () => {
    const hashes = new Set([1, 2, 3, 4, 5].map((seed) => scheduleHash(buildSchedule(options({ seed })))));
    expect(hashes.size).toBe(5);
  });

  it('schedule: exactly --kills kills are planned, split between main and notifiers', () => {
    const schedule = buildSchedule(options({ seed: 9, kills: 50 }));
    const mainKills = schedule.timed.filter((fault) => fault.kind === 'kill-main').length;
    const notifierKills = schedule.notifierFaults.filter((fault) => fault.kind !== 'none').length;
    expect(mainKills + notifierKills).toBe(50);
    expect(mainKills).toBe(Math.round(50 * DEFAULT_RACE_OPTIONS.faults.mainKillShare));
    // Every notifier kill has a push to start its notifier.
    expect(schedule.sends.filter((send) => send.kind === 'room').length).toBe(schedule.notifierFaults.length);
  });

  it('schedule: faults fall inside the safety phase, sorted, and sends keep each sender in plan order', () => {
    const schedule = buildSchedule(options({ seed: 3, durationS: 5 }));
    const times = schedule.timed.map((fault) => fault.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.max(...times)).toBeLessThan(5000);
    expect(schedule.sends.filter((send) => send.kind === 'to-device').length).toBe(DEFAULT_RACE_OPTIONS.messages);
  });

  it('schedule: a probability of zero plans no fault of that kind', () => {
    const faults = { ...DEFAULT_RACE_OPTIONS.faults, dropResponse: 0, writeLock: 0, sigstopMain: 0 };
    const counts = plannedFaultCounts(buildSchedule(options({ seed: 5, durationS: 60, faults })));
    expect(counts['drop-response']).toBeUndefined();
    expect(counts['write-lock']).toBeUndefined();
    expect(counts['sigstop-main']).toBeUndefined();
    expect(counts['expire-pos']).toBeGreaterThan(0);
  });

  it('options: the seed line names every fault probability and the reproduce command replays the options', () => {
    const line = describeOptions(options({ seed: 77 }));
    expect(line.startsWith('SEED=77 ')).toBe(true);
    for (const name of Object.keys(DEFAULT_RACE_OPTIONS.faults)) expect(line).toContain(`${name}=`);
    const command = reproduceCommand(options({ seed: 77, faults: { ...DEFAULT_RACE_OPTIONS.faults, writeLock: 0.5 } }), 'explicit-cas');
    expect(command).toBe('npx todevice race --strategy explicit-cas --seed 77 --messages 300 --senders 3 --kills 30 --duration 10 --fault writeLock=0.5');
  });
});
