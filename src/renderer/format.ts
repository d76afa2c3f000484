/**
 * How the dashboard writes times, durations and counts.
 *
 * Runtime: browser. Pure functions of their arguments (the current time is passed in), so a view renders the
 * same snapshot the same way.
 */

/** `1.2 s`, `340 ms`, `2 min 05 s`, `1 h 02 min`. */
export function formatDurationMs(durationMs: number): string {
  const ms = Math.max(0, Math.round(durationMs));
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)} min ${pad2(totalSeconds % 60)} s`;
  return `${Math.floor(totalSeconds / 3600)} h ${pad2(Math.floor((totalSeconds % 3600) / 60))} min`;
}

/**
 * The same in at most seven characters, for narrow columns (a process lane's lifetime): `340 ms`, `12.3 s`,
 * `1m 06s`, `2h 05m`. It never wraps into two lines, however long the process lived.
 */
export function formatDurationCompactMs(durationMs: number): string {
  const ms = Math.max(0, Math.round(durationMs));
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m ${pad2(totalSeconds % 60)}s`;
  if (totalSeconds < 100 * 3600) return `${Math.floor(totalSeconds / 3600)}h ${pad2(Math.floor((totalSeconds % 3600) / 60))}m`;
  return `${Math.floor(totalSeconds / 86_400)} days`;
}

/** Wall-clock time to the second, `14:03:27`, in the local time zone (chart axes, "since" labels). */
export function formatClockS(atMs: number): string {
  const date = new Date(atMs);
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/** Wall-clock time with milliseconds, `14:03:27.512`, in the local time zone. */
export function formatClockMs(atMs: number): string {
  const date = new Date(atMs);
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** `3.4 s ago`, `1m 06s ago`; `now` under 100 ms. */
export function formatAgo(atMs: number, nowMs: number): string {
  const ageMs = nowMs - atMs;
  return ageMs < 100 ? 'now' : `${formatDurationCompactMs(ageMs)} ago`;
}

/** Thousands separated by a thin space: `12 345`. */
export function formatCount(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
}

/** Shortens a long opaque token for display, keeping both ends: `s123_abc…f09e`. */
export function shortenToken(token: string, maxLength = 28): string {
  if (token.length <= maxLength) return token;
  const keep = Math.floor((maxLength - 1) / 2);
  return `${token.slice(0, keep)}…${token.slice(-keep)}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
