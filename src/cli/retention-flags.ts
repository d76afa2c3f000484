/**
 * `--retain WHAT=LIMIT`, the flag `todevice headless` and `todevice start` take to change how much history the
 * store keeps (src/store/retention-policy.ts has the defaults and what each limit means).
 *
 * Runtime: node. WHAT is one of `inbox`, `notifier`, `handled`, `event-log`, `notifications`, `timeline`. LIMIT is
 * `all` (keep everything; for `notifier`: never skip), a row count (`20000`), an age (`30d`, `12h`, `45min`,
 * `90s`, `500ms`) or both (`20000/30d`: whichever keeps fewer). A LIMIT replaces that limit whole: `20000` alone
 * keeps no age bound. The flag repeats; the last one for a WHAT wins. A malformed one is a usage error in one
 * line, before anything is opened.
 */
import { InvalidArgumentError } from 'commander';
import type { RetentionOptions, RetentionPolicy, RowLimit } from '../store/retention-policy';

const WHAT: Record<string, keyof RetentionPolicy> = {
  inbox: 'inbox',
  notifier: 'notifierWindow',
  handled: 'handled',
  'event-log': 'eventLog',
  notifications: 'notifications',
  timeline: 'timeline',
};

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const RETAIN_HELP =
  `history to keep, repeatable: WHAT=LIMIT with WHAT one of ${Object.keys(WHAT).join(', ')} and LIMIT ` +
  '"all", rows ("20000"), an age ("30d", "12h") or both ("20000/30d")';

/** A commander option parser that accumulates `--retain` values into one `RetentionOptions`. */
export function collectRetain(value: string, previous: RetentionOptions = {}): RetentionOptions {
  const [what, limit, extra] = value.split('=');
  const key = what === undefined ? undefined : WHAT[what.trim()];
  if (key === undefined || limit === undefined || extra !== undefined) {
    throw new InvalidArgumentError(`invalid --retain "${value}": expected WHAT=LIMIT with WHAT one of ${Object.keys(WHAT).join(', ')}`);
  }
  return { ...previous, [key]: parseLimit(limit.trim(), value) };
}

function parseLimit(text: string, whole: string): RowLimit {
  if (text === 'all') return { maxRows: null, maxAgeMs: null };
  const parts = text.split('/');
  if (parts.length > 2) throw bad(whole);
  const limit: RowLimit = { maxRows: null, maxAgeMs: null };
  for (const part of parts) {
    if (/^\d+$/.test(part) && limit.maxRows === null) limit.maxRows = checked(Number(part), whole);
    else if (limit.maxAgeMs === null && /^\d+(ms|s|min|m|h|d)$/.test(part)) limit.maxAgeMs = checked(parseAgeMs(part), whole);
    else throw bad(whole);
  }
  return limit;
}

function parseAgeMs(part: string): number {
  const match = /^(\d+)(ms|s|min|m|h|d)$/.exec(part);
  const unit = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
  if (match?.[1] === undefined || unit === undefined) throw new Error(`not an age: ${part}`);
  return Number(match[1]) * unit;
}

function checked(n: number, whole: string): number {
  if (!Number.isSafeInteger(n)) throw bad(whole);
  return n;
}

function bad(whole: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid --retain "${whole}": LIMIT must be "all", rows (20000), an age (30d, 12h, 45min, 90s, 500ms) or rows/age`);
}
