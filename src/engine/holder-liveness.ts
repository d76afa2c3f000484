/**
 * Is the process behind a lease holder gone (exited, or stopped)? Lets a waiter take the lease from a holder that
 * was killed or stopped instead of waiting out the rest of its lease (src/store/lease.ts).
 *
 * Runtime: node. A holder is named `<processName>:<pid>` (sync-engine.ts). The answer is "gone" only when the
 * operating system says no process has that PID (`kill(pid, 0)` fails with ESRCH), or, on Linux, that the
 * process has exited or is stopped (below); anything else (the process runs, belongs to another user, the name
 * carries no PID) counts as alive, and the waiter falls back to the lease's expiry. The check is meaningful because every process sharing the store runs on this machine: SQLite's
 * WAL mode works only between processes of one host, and PIDs are that host's.
 *
 * Why it is safe to act on:
 * - A process that does not exist writes nothing, so taking its lease cannot overlap its work.
 * - A reused PID (the holder died and an unrelated process got its number) makes a dead holder look alive: the
 *   waiter just waits for the expiry, as it would without this check.
 * - A holder judged gone by mistake (another PID namespace sharing the file) is fenced at its next commit by the
 *   generation bump, exactly like a holder that stalled past its expiry (F9). Nothing is lost, only work wasted.
 * - A killed child that its parent has not reaped yet still has its PID (a zombie): `kill(pid, 0)` succeeds on it.
 *   On Linux its state in `/proc/<pid>/stat` says so (`Z`, or `X` while it is being reaped), and it counts as
 *   gone: it has exited, its descriptors are closed, and it can write nothing again; its PID cannot be reused
 *   until it is reaped. That short while was not short under load: the parent reaps on its own event loop, and a
 *   busy parent (the app host or the race harness starting a notifier per push) left a killed holder looking
 *   alive for 0.4-1 s in the kill campaign, while every waiter waited. Where `/proc` cannot be read (another OS),
 *   a zombie counts as alive, as before, until its parent reaps it.
 * - A stopped process (SIGSTOP, job control, a tracer: `T` or `t` in `/proc/<pid>/stat`) counts as gone too. It
 *   can do nothing until someone continues it, and that may be never; meanwhile its lease blocked every other
 *   process for the rest of its period (the race harness stops main for longer than a lease, as an OS does with
 *   a suspended app). Taking its lease is safe for the same reason as above: when it is continued, its renewal
 *   is refused and its next commit is fenced by the generation bump (F9), so at most the one request it had in
 *   flight is wasted. While it stays stopped it also does not count as a waiter.
 * Why it matters: a notifier killed while holding the lease (the system reclaiming a push extension, F10 for
 * notifiers) otherwise blocked the main process and every later notifier for up to a whole lease period.
 */
import fs from 'node:fs';

export function holderProcessGone(holder: string): boolean {
  const separator = holder.lastIndexOf(':');
  const pid = separator < 0 ? Number.NaN : Number(holder.slice(separator + 1));
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return exitedOrStopped(pid);
}

/**
 * Linux: the process has exited and waits for its parent to reap it, or it is stopped (see the header). False
 * whenever that cannot be read.
 */
function exitedOrStopped(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // "pid (comm) state ...": comm may itself hold parentheses, so the state follows the last ") ".
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state === 'Z' || state === 'X' || state === 'T' || state === 't';
}
