/**
 * How the main process opens the shared store: the app's sync process (src/main/sync-process) and `todevice
 * headless` both open it here, so they run with the same connection settings.
 *
 * Runtime: node. Store-only imports, like main-consumer.ts: the sync process's entry loads this before anything
 * else.
 *
 * What differs from `openStore`'s defaults is the page cache. better-sqlite3 builds SQLite with room for
 * 16,000 KiB per connection, and a main process that lives for months reads every page of its store in time
 * (the consumer the newest rows, compaction and retention the oldest), so the cache grows to the whole store.
 * Measured with `todevice bench --soak --messages 600000`, four runs each way, alternated: main's resident
 * memory at the end was 91 to 96 MiB with 6 MiB against 102 to 104 MiB with the default; the last tenth's
 * send-to-handled p99 was 0.82× to 1.20× the first tenth's against 0.49× to 1.57×; in bench case 4 (two runs each)
 * main alone drained 15,990 and 9,328 events/s against 12,921 and 16,699. The store's file ended at 10.6 to
 * 16.1 MiB against 8.0 to 14.1 MiB: it ends as large as the inbox was when compaction was furthest behind (17,000
 * to 29,000 rows at some tenth of runs of either setting), and compaction reads the oldest pages, which a smaller
 * cache has let go, so it may fall behind a little further; the default soak of 1,000,000 ended at 8.2 MiB
 * (1.51× its size after 10,000), main at 95.9 MiB (1.18×). A page that is no longer cached comes back from the
 * operating system's file cache.
 */
import { openStore, type ClientStore, type OpenStoreOptions } from '../../store/open-store';

/** SQLite's page cache of the main process's connection, in KiB (see the header). */
export const MAIN_STORE_CACHE_KIB = 6144;

export function openMainStore(file: string, options: Omit<OpenStoreOptions, 'cacheSizeKib'> = {}): ClientStore {
  return openStore(file, { ...options, cacheSizeKib: MAIN_STORE_CACHE_KIB });
}
