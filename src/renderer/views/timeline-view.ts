/**
 * This run's room timeline of the main process, newest last like a chat: each event's sender, time and
 * plaintext; "waiting for its room key" (no alarm) while the key may still be on its way (the grace period,
 * `LATE_DECRYPTION_GRACE_MS`); "the sender withheld its room key" when a `m.room_key.withheld` said so (the
 * sender's choice, not a loss); a plain "Unable to decrypt" marker once it is past that; and a "late" badge on an
 * event that became readable only after that (a delay the user saw, not a loss).
 *
 * Runtime: browser. The host sends the newest entries, bounded; this view redraws only when they changed, so a
 * selection survives, and keeps the list scrolled to the newest entry unless the reader scrolled up. Each item
 * carries `data-state` (`decrypted`, `awaiting-key`, `withheld`, `unable-to-decrypt`, or `plain` for an unencrypted event)
 * and `data-late`.
 */
import { LATE_DECRYPTION_GRACE_MS } from '../../shared/room-key-protocol';
import type { TimelineEntryView } from '../../shared/ui-api';
import { byTestId, el } from '../dom';
import { formatClockMs } from '../format';
import type { View } from './view';

/** Within this distance of the bottom, the reader is following the newest entries. */
const followSlackPx = 8;

type TimelineEntryState = 'plain' | 'decrypted' | 'awaiting-key' | 'withheld' | 'unable-to-decrypt';

export function createTimelineView(root: ParentNode): View {
  const list = byTestId(root, 'timeline');
  let drawnKey = '';
  return {
    render(snapshot) {
      const key = JSON.stringify(snapshot.timeline);
      if (key === drawnKey) return;
      drawnKey = key;
      if (snapshot.timeline.length === 0) {
        list.replaceChildren(el('li', { className: 'empty', text: 'no room message yet this run: push one' }));
        return;
      }
      const following = list.scrollHeight - list.scrollTop - list.clientHeight <= followSlackPx;
      list.replaceChildren(...snapshot.timeline.map(timelineItem));
      if (following) list.scrollTop = list.scrollHeight;
    },
  };
}

function entryState(entry: TimelineEntryView): TimelineEntryState {
  if (!entry.encrypted) return 'plain';
  if (entry.body !== null) return 'decrypted';
  if (entry.withheldCode !== null) return 'withheld';
  return entry.awaitingKey ? 'awaiting-key' : 'unable-to-decrypt';
}

function timelineItem(entry: TimelineEntryView): HTMLElement {
  const state = entryState(entry);
  const waitingText =
    state === 'awaiting-key'
      ? 'Decrypting: waiting for its room key…'
      : state === 'withheld'
        ? `The sender withheld its room key (${entry.withheldCode ?? ''})`
        : 'Unable to decrypt: its room key has not arrived';
  const body =
    entry.body === null
      ? el('span', { className: 't-body', testId: 'timeline-body', text: waitingText })
      : el('span', { className: 't-body', testId: 'timeline-body', text: entry.body, title: entry.body });
  const badges = [el('span', { className: `badge badge-${state}`, text: badgeText(state) })];
  if (entry.late) badges.push(el('span', { className: 'badge badge-late', testId: 'timeline-late', text: 'late', title: `decrypted only after its room key arrived, more than ${LATE_DECRYPTION_GRACE_MS / 1000} s after the message was shown` }));
  return el(
    'li',
    {
      className: 'timeline-item',
      testId: 'timeline-item',
      title: entry.eventId,
      data: { eventId: entry.eventId, state, late: entry.late, encrypted: entry.encrypted },
    },
    [
      el('span', { className: 't-time', text: formatClockMs(entry.originServerTs) }),
      el('span', { className: 't-sender', text: entry.sender, title: entry.sender }),
      body,
      el('span', { className: 't-badges' }, badges),
    ],
  );
}

function badgeText(state: TimelineEntryState): string {
  switch (state) {
    case 'plain':
      return 'plain';
    case 'decrypted':
      return 'decrypted';
    case 'awaiting-key':
      return 'waiting';
    case 'withheld':
      return 'withheld';
    case 'unable-to-decrypt':
      return 'no key';
  }
}
