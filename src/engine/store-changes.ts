/**
 * A hint that some process is committing to the store: its write-ahead log changed on disk. The processes that
 * share a store (main, notifiers) otherwise learn of each other's writes only by polling (the lease's waiters
 * and holder, main's inbox watch, every 25 ms), so each handoff between them waited half a poll on average on
 * each side. With the hint, a poll that sleeps checks again as soon as another process writes.
 *
 * Runtime: node. Watches the store's `-wal` file with `fs.watch` (inotify on Linux, kqueue on macOS,
 * ReadDirectoryChangesW on Windows): every commit of every connection writes it. The file, not its directory,
 * because the directory may hold other busy files (the embedded homeserver's database), whose every write would
 * wake this process for nothing. The file lives as long as any connection is open, ours included, so one watch
 * set up after the store opened lasts as long as the store. The watcher does not keep the process alive.
 *
 * Why a settle window: what the watch reports is the commit's write to the WAL, and a commit becomes visible to
 * other connections only after that, once its fsync returned (SQLite then marks it in the shared-memory index,
 * which no watch sees). A check made at the report alone would mostly look too early, see nothing, and sleep a
 * whole interval. So for `SETTLE_MS` after a change the polls' sleeps are cut to `RECHECK_MS`: the commit is
 * seen within a few milliseconds of becoming visible (measured here: the report came 0.25 to 1.5 ms before the
 * writer's commit returned).
 *
 * Guarantees:
 * - Only a hint. Nothing waits for it alone: every sleep it shortens still ends at its own timeout, so a change
 *   the platform does not report, or a store with no `-wal` file to watch (`:memory:`, a watch the system
 *   refuses), costs the poll interval, as without it.
 * - A listener is called at most once per turn of the event loop, however many writes one commit made, and only
 *   for changes seen after it subscribed. The process's own commits are reported too: a waiter's check must be
 *   cheap and must not write on every call, or its own writes would wake it again at once.
 * - `close()` stops the watch; later subscriptions are never called.
 */
import fs from 'node:fs';
import type { Sleep } from './timing';

/** How long after a change the polls keep checking at `RECHECK_MS`: longer than a commit's fsync takes here. */
export const SETTLE_MS = 20;
/** A poll's sleep while a change settles. */
export const RECHECK_MS = 2;

export interface StoreChanges {
  /** Calls `listener` after changes seen from now on (at most once per turn); returns the unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Whether a change was seen within the last `SETTLE_MS`. */
  settling(): boolean;
  close(): void;
}

/** A `StoreChanges` that never reports anything: for in-memory stores and where no watch can be set up. */
export const NO_STORE_CHANGES: StoreChanges = { onChange: () => () => undefined, settling: () => false, close: () => undefined };

/** Watches the `-wal` file of an open store (see the module header); without one (`:memory:`), nothing. */
export function watchStoreChanges(storePath: string): StoreChanges {
  if (storePath === '' || storePath === ':memory:') return NO_STORE_CHANGES;
  const listeners = new Set<() => void>();
  let scheduled = false;
  let lastChangeMs = Number.NEGATIVE_INFINITY;
  let watcher: fs.FSWatcher;
  try {
    watcher = fs.watch(`${storePath}-wal`, { persistent: false });
  } catch {
    // No `-wal` file (not a WAL store, or not open), or a watch the system refuses: the polls go on without hints.
    return NO_STORE_CHANGES;
  }
  // The file replaced or removed, or the watch failing, ends the hints; the polls go on without them.
  watcher.on('error', () => watcher.close());
  watcher.on('change', (kind) => {
    if (kind === 'rename') {
      watcher.close();
      return;
    }
    lastChangeMs = performance.now();
    if (scheduled || listeners.size === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      for (const listener of [...listeners]) listener();
    });
  });
  return {
    onChange(listener) {
      // A fresh function per subscription, so one listener subscribed twice is also unsubscribed twice.
      const entry = (): void => listener();
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    settling: () => performance.now() - lastChangeMs < SETTLE_MS,
    close() {
      listeners.clear();
      watcher.close();
    },
  };
}

/**
 * `sleep` for polls whose condition another process changes by committing (a lease released or wanted, rows
 * added to the inbox): ended early by the next change of the store, and cut to `RECHECK_MS` while a change
 * settles (see the module header). Not for backoff: a delay after an error must run its course whatever the
 * store does.
 */
export function wakeOnChange(sleep: Sleep, changes: StoreChanges | undefined): Sleep {
  if (changes === undefined || changes === NO_STORE_CHANGES) return sleep;
  return async (ms, signal) => {
    if (signal?.aborted === true) return;
    if (changes.settling()) {
      await sleep(Math.min(ms, RECHECK_MS), signal);
      return;
    }
    const woken = new AbortController();
    const wake = (): void => woken.abort();
    const unsubscribe = changes.onChange(wake);
    signal?.addEventListener('abort', wake, { once: true });
    try {
      await sleep(ms, woken.signal);
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', wake);
    }
  };
}
