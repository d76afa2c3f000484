/**
 * The notifications the notifier runs built, newest first, each with its outcome: the plaintext of a decrypted
 * message (or of a plain one), or a plain statement that it could not be shown: unable to decrypt because its
 * room key had not arrived, its unencrypted to-device data missing, or the event not fetched. Those are marked,
 * since "unable to decrypt" is the user-visible symptom of a lost to-device message.
 *
 * Runtime: browser.
 */
import type { NotificationView } from '../../shared/ui-api';
import { byTestId, el } from '../dom';
import { formatClockMs } from '../format';
import type { View } from './view';

const shown = 12;

const outcomeText: Record<NotificationView['outcome'], string> = {
  plain: 'plain',
  decrypted: 'decrypted',
  'unable-to-decrypt': 'unable to decrypt',
  'data-missing': 'data missing',
  'fetch-failed': 'fetch failed',
};

export function createNotificationsView(root: ParentNode): View {
  const list = byTestId(root, 'notifications');
  return {
    render(snapshot) {
      if (snapshot.notifications.length === 0) {
        list.replaceChildren(el('li', { className: 'empty', text: 'no push yet: send a room message' }));
        return;
      }
      list.replaceChildren(...snapshot.notifications.slice(0, shown).map(notificationItem));
    },
  };
}

function notificationItem(n: NotificationView): HTMLElement {
  return el(
    'li',
    {
      // "Unable to decrypt" is marked whatever `dataMissing` says: it is the harm this dashboard measures.
      className: n.dataMissing || n.outcome === 'unable-to-decrypt' ? 'notification missing' : 'notification',
      testId: 'notification-item',
      data: { pid: n.pid, eventId: n.eventId, dataMissing: n.dataMissing, outcome: n.outcome },
    },
    [
      el('div', { className: 'n-head' }, [
        el('span', { className: 'n-title', text: n.title, title: n.title }),
        el('span', { className: 'n-meta', text: `pid ${n.pid} · ${formatClockMs(n.atMs)}` }),
      ]),
      el('div', { className: 'n-body', testId: 'notification-body', text: n.body }),
      el('div', { className: 'n-foot' }, [
        el('span', { className: 'n-event', text: n.eventId, title: n.eventId }),
        el('span', { className: `badge badge-${n.outcome}`, testId: 'notification-outcome', text: outcomeText[n.outcome] }),
      ]),
    ],
  );
}
