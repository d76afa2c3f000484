/**
 * The Storage panel: how big the shared store is (database file and WAL), how many rows each table holds, and
 * what compaction and retention removed: inbox rows every consumer had passed, rows passed over for the notifier
 * because they were older than its window (never for main), pruned history, and when compaction last ran.
 *
 * Runtime: browser. The figures are the host's (`snapshot.storage`, read from the store as `todevice inbox`
 * reads them); nothing is derived here but their formatting.
 */
import type { StorageView } from '../../shared/ui-api';
import { byTestId, setText } from '../dom';
import { formatAgo, formatCount } from '../format';
import type { View } from './view';

export function createStorageView(root: ParentNode): View {
  const field = (id: string): HTMLElement => byTestId(root, `storage-${id}`);
  const size = field('size');
  const vacuum = field('vacuum');
  const deleted = field('inbox-deleted');
  const skipped = field('notifier-skipped');
  const pruned = field('pruned');
  const last = field('last-compaction');
  const rows = field('rows');
  return {
    render(snapshot, nowMs) {
      const storage = snapshot.storage;
      setText(size, `${formatBytes(storage.fileBytes + storage.walBytes)} (WAL ${formatBytes(storage.walBytes)})`);
      size.dataset.value = String(storage.fileBytes + storage.walBytes);
      setText(vacuum, `${storage.autoVacuum}, ${formatCount(storage.freePages)} free pages`);
      setText(deleted, formatCount(storage.removed.inboxRows));
      deleted.dataset.value = String(storage.removed.inboxRows);
      setText(skipped, formatCount(storage.removed.notifierRowsSkipped));
      skipped.dataset.value = String(storage.removed.notifierRowsSkipped);
      setText(pruned, formatCount(prunedRows(storage)));
      setText(last, storage.lastCompactionAtMs === null ? 'never' : formatAgo(storage.lastCompactionAtMs, nowMs));
      const r = storage.rows;
      setText(
        rows,
        `rows: inbox ${formatCount(r.inbox)} · handled ${formatCount(r.handled)} · event log ${formatCount(r.eventLog)} · ` +
          `notifications ${formatCount(r.notifications)} · timeline ${formatCount(r.timeline)} · room keys ${formatCount(r.roomKeys)}`,
      );
    },
  };
}

function prunedRows(storage: StorageView): number {
  const { handledRows, eventLogRows, notifications, timelineRows } = storage.removed;
  return handledRows + eventLogRows + notifications + timelineRows;
}

/** `812 B`, `96.0 KiB`, `3.4 MiB`. */
function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
