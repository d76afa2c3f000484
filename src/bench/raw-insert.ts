/**
 * The physical limit of the commit path: SQLite inserting the same inbox rows, in the same table of a store
 * opened the same way (WAL, same `synchronous`), one `BEGIN IMMEDIATE` transaction per batch, with nothing
 * else: no token compare-and-set, no lease check, no HTTP. Contents are serialised with `JSON.stringify` here
 * too, because the rows our commit writes are JSON text made from the parsed response.
 *
 * Runtime: node.
 */
import type { ToDeviceEvent } from '../shared/wire';
import type { ClientStore } from '../store/open-store';

export function rawInsertBatch(store: ClientStore, events: readonly ToDeviceEvent[], nextBatch: string, nowMs: number): void {
  const insert = store.statement(
    `INSERT INTO inbox (type, sender, content, received_at_ms, fetched_by_process, fetched_by_pid, batch_since,
                        batch_next_batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  store.immediate(() => {
    for (const event of events) {
      insert.run(event.type, event.sender, JSON.stringify(event.content), nowMs, 'raw', process.pid, null, nextBatch);
    }
  });
}
