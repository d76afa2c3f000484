/**
 * The soak's figures and targets, from its raw measurements (src/bench/soak.ts): pure arithmetic, so it is
 * tested on its own.
 *
 * Runtime: node (pure). Latency samples are kept in the order the messages were sent; the first and last tenth
 * are those of that order (at least one sample each), and their p50 and p99 are nearest-rank percentiles
 * (stats.ts). Every target is a ratio of the soak's late state to its early state, so a figure is judged
 * against the same run on the same machine, as every figure of `todevice bench` is:
 * - `client.db` at the end ≤ 2× its size after the warm-up (10,000 messages): the store stays bounded;
 * - main's resident memory at the end ≤ 1.25× after the warm-up: no leak per message;
 * - the last tenth's p99 ≤ 1.25× the first tenth's: nothing slows down as the store and the server age.
 */
import type { Figure } from './bench-types';
import { percentile } from './stats';

export const SOAK_CASE = 9;
export const CLIENT_DB_TARGET = 2;
export const RSS_TARGET = 1.25;
export const LATENCY_TARGET = 1.25;

export interface TenthLatencies {
  first: { p50: number; p99: number; samples: number };
  last: { p50: number; p99: number; samples: number };
}

/** p50 and p99 of the first and the last tenth of `samples` (in send order). */
export function tenthLatencies(samples: readonly number[]): TenthLatencies {
  const size = Math.max(1, Math.floor(samples.length / 10));
  const first = samples.slice(0, size);
  const last = samples.length === 0 ? [] : samples.slice(-size);
  const of = (part: readonly number[]): TenthLatencies['first'] => ({ p50: percentile(part, 50), p99: percentile(part, 99), samples: part.length });
  return { first: of(first), last: of(last) };
}

export interface SoakMeasurements {
  messages: number;
  warmupMessages: number;
  /** `client.db` (file, after a passive checkpoint) after the warm-up and at the end. */
  clientDbBytes: { warmup: number; end: number };
  /** Main's resident set (VmRSS) once started, after the warm-up, after the first tenth and at the end. */
  mainRssKb: { start: number; warmup: number; firstTenth: number; end: number };
  latencyMs: readonly number[];
  pushToNotificationMs: readonly number[];
}

const MIB = 1024 * 1024;

export function soakFigures(m: SoakMeasurements): Figure[] {
  const tenths = tenthLatencies(m.latencyMs);
  const warm = `after ${m.warmupMessages.toLocaleString('en-US')} messages`;
  const note = `${m.latencyMs.length} samples, ${tenths.first.samples} per tenth`;
  return [
    {
      caseNumber: SOAK_CASE, name: `client.db after ${m.messages.toLocaleString('en-US')} messages`, value: m.clientDbBytes.end / MIB,
      baselineName: `client.db ${warm}`, baseline: m.clientDbBytes.warmup / MIB, unit: 'MiB', better: 'lower', target: { op: '<=', ratio: CLIENT_DB_TARGET },
    },
    {
      caseNumber: SOAK_CASE, name: 'main RSS at the end', value: m.mainRssKb.end / 1024, baselineName: `main RSS ${warm}`,
      baseline: m.mainRssKb.warmup / 1024, unit: 'MiB', better: 'lower', target: { op: '<=', ratio: RSS_TARGET },
      note: `at start (before the warm-up) ${(m.mainRssKb.start / 1024).toFixed(1)} MiB`,
    },
    {
      caseNumber: SOAK_CASE, name: 'main RSS at the end vs at start', value: m.mainRssKb.end / 1024, baselineName: 'main RSS at start',
      baseline: m.mainRssKb.start / 1024, unit: 'MiB', better: 'lower', note: 'info: start-up, page cache and JIT fill in during the warm-up',
    },
    {
      caseNumber: SOAK_CASE, name: 'main RSS at the end vs after 10%', value: m.mainRssKb.end / 1024,
      baselineName: `main RSS after ${Math.round(m.messages / 10).toLocaleString('en-US')} messages`, baseline: m.mainRssKb.firstTenth / 1024,
      unit: 'MiB', better: 'lower', note: 'info: a leak keeps climbing over the last 90%, a cache that filled does not',
    },
    {
      caseNumber: SOAK_CASE, name: 'send→handled p99, last 10%', value: tenths.last.p99, baselineName: 'first 10% p99',
      baseline: tenths.first.p99, unit: 'ms', better: 'lower', target: { op: '<=', ratio: LATENCY_TARGET }, note,
    },
    {
      caseNumber: SOAK_CASE, name: 'send→handled p50, last 10%', value: tenths.last.p50, baselineName: 'first 10% p50',
      baseline: tenths.first.p50, unit: 'ms', better: 'lower', note,
    },
    ...(m.pushToNotificationMs.length === 0
      ? []
      : [
          {
            caseNumber: SOAK_CASE, name: 'push→notification p99', value: percentile(m.pushToNotificationMs, 99), baselineName: 'push→notification p50',
            baseline: percentile(m.pushToNotificationMs, 50), unit: 'ms', better: 'lower' as const, note: `${m.pushToNotificationMs.length} notifier processes; info`,
          },
        ]),
  ];
}
