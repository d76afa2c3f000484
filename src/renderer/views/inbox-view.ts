/**
 * The inbox: the newest rows of the append-only log of received to-device events, with each consumer's cursor
 * marked on the row it has consumed up to (MSC3885's token says what the server may delete; the cursors say
 * what each of our processes has handled, which is a different question).
 *
 * Runtime: browser. Only the newest rows are sent by the host; a cursor below them is listed in the cursor bar
 * with how far behind it is.
 */
import type { DashboardSnapshot, InboxRowView } from '../../shared/ui-api';
import { byTestId, el, setText } from '../dom';
import { formatClockMs, formatCount } from '../format';
import type { View } from './view';

export function createInboxView(root: ParentNode): View {
  const summary = byTestId(root, 'inbox-summary');
  const cursorBar = byTestId(root, 'cursors');
  const rows = byTestId(root, 'inbox-rows');
  return {
    render(snapshot) {
      const { inbox, cursors } = snapshot;
      setText(summary, `${formatCount(inbox.total)} rows · newest ${inbox.latest.length} shown`);
      cursorBar.replaceChildren(...cursors.map((cursor) => cursorChip(cursor, inbox.latest)));
      if (inbox.latest.length === 0) {
        rows.replaceChildren(el('tr', {}, [el('td', { className: 'empty', text: 'no to-device event yet' })]));
        rows.firstElementChild?.firstElementChild?.setAttribute('colspan', '6');
        return;
      }
      rows.replaceChildren(...inbox.latest.map((row) => inboxRow(row, cursors)));
    },
  };
}

function cursorChip(cursor: DashboardSnapshot['cursors'][number], latest: InboxRowView[]): HTMLElement {
  const newestSeq = latest[0]?.seq ?? cursor.seq;
  const behind = Math.max(0, newestSeq - cursor.seq);
  return el('span', { className: 'cursor-chip', testId: `cursor-${cursor.consumer}`, data: { seq: cursor.seq } }, [
    el('b', { text: cursor.consumer }),
    ` @ ${cursor.seq}`,
    el('span', { className: behind > 0 ? 'behind' : 'caught-up', text: behind > 0 ? ` ${behind} behind` : ' caught up' }),
  ]);
}

function inboxRow(row: InboxRowView, cursors: DashboardSnapshot['cursors']): HTMLElement {
  const here = cursors.filter((cursor) => cursor.seq === row.seq);
  return el('tr', { testId: 'inbox-row', className: here.length > 0 ? 'has-cursor' : '', data: { seq: row.seq } }, [
    el('td', { className: 'num', text: String(row.seq) }),
    el('td', { className: 'mono', text: row.tag ?? '—' }),
    el('td', { className: 'mono dim', text: row.type }),
    el('td', { text: `${row.fetchedBy} (${row.fetchedByPid})` }),
    el('td', { className: 'mono dim', text: formatClockMs(row.receivedAtMs) }),
    el('td', {}, here.map((cursor) => el('span', { className: 'cursor-mark', text: `◀ ${cursor.consumer}` }))),
  ]);
}
