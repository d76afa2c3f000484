/**
 * The text `todevice bench --soak` prints: the judged figures as the bench's table, then the two databases'
 * sizes and rows per table after the warm-up and at the end, and main's memory.
 *
 * Runtime: node (pure string formatting).
 */
import { renderTable } from './bench-table';
import type { SoakPoint, SoakReport } from './soak';
import { mib } from './store-growth';

const n = (value: number): string => value.toLocaleString('en-US');
const SHOWN_TABLE_BYTES = 0.05 * 1024 * 1024;

function rowsLine(rows: Record<string, number>): string {
  return Object.entries(rows).map(([table, count]) => `${table} ${n(count)}`).join(', ');
}

/** Tables of at least 0.05 MiB by name, largest first; the rest summed as `other`. */
function bytesLine(tableBytes: Record<string, number>): string {
  const listed = Object.entries(tableBytes).filter(([, bytes]) => bytes >= SHOWN_TABLE_BYTES);
  const other = Object.values(tableBytes).reduce((sum, bytes) => sum + (bytes < SHOWN_TABLE_BYTES ? bytes : 0), 0);
  return [...listed.map(([table, bytes]) => `${table} ${mib(bytes)}`), `other ${mib(other)}`].join(', ');
}

function pointLines(label: string, point: SoakPoint): string[] {
  return [
    `after ${n(point.messages)} messages (${label}):`,
    `  client.db ${mib(point.client.fileBytes)} MiB (WAL ${mib(point.client.walBytes)} MiB, ${n(point.client.freePages)} free pages); ` +
      `inbox rows removed ${n(point.client.removedInboxRows)}, skipped for the notifier ${n(point.client.notifierRowsSkipped)}`,
    `    rows: ${rowsLine(point.client.rows)}`,
    `    MiB per table (indexes included): ${bytesLine(point.client.tableBytes)}`,
    `  server db ${mib(point.server.fileBytes)} MiB (WAL ${mib(point.server.walBytes)} MiB)`,
    `    rows: ${rowsLine(point.server.rows)}`,
    `  main RSS ${(point.mainRssKb / 1024).toFixed(1)} MiB`,
  ];
}

export function renderSoak(report: SoakReport): string {
  const judged = report.figures.filter((f) => f.pass !== undefined);
  return [
    renderTable(report.figures),
    '',
    `soak: ${n(report.messages)} to-device messages in chunks of ${n(report.chunkMessages)} (each chunk's last one over HTTP), ` +
      `${n(report.roomMessages)} room messages, ${n(report.pushes)} pushes (notifier processes) ` +
      `in ${report.elapsedS.toFixed(0)} s, ${n(Math.round(report.messagesPerS))} messages/s`,
    `main RSS once started ${(report.mainRssAtStartKb / 1024).toFixed(1)} MiB; after each tenth: ` +
      report.mainRssByTenthKb.map((point) => `${(point.rssKb / 1024).toFixed(0)}`).join(', ') + ' MiB; inbox rows after each tenth: ' +
      report.mainRssByTenthKb.map((point) => n(point.inboxRows)).join(', '),
    ...pointLines('the warm-up', report.warmup),
    ...pointLines('the end', report.end),
    ...report.notifierFailures.map((failure) => `notifier FAILED: ${failure}`),
    `${judged.filter((f) => f.pass === true).length} of ${judged.length} targets hold`,
    '',
  ].join('\n');
}
