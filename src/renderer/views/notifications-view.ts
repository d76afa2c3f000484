/**
 * The notifications the notifier runs built, newest first: each from the to-device data its pushed event needs,
 * or saying plainly that the data was missing (which the dashboard marks, since that is the user-visible
 * symptom of a lost key: "unable to decrypt").
 *
 * Runtime: browser.
 */
import { byTestId, el } from '../dom';
import { formatClockMs } from '../format';
import type { View } from './view';

const shown = 12;

export function createNotificationsView(root: ParentNode): View {
  const list = byTestId(root, 'notifications');
  return {
    render(snapshot) {
      if (snapshot.notifications.length === 0) {
        list.replaceChildren(el('li', { className: 'empty', text: 'no push yet: send a room message' }));
        return;
      }
      list.replaceChildren(
        ...snapshot.notifications.slice(0, shown).map((n) =>
          el(
            'li',
            {
              className: n.dataMissing ? 'notification missing' : 'notification',
              testId: 'notification-item',
              data: { pid: n.pid, eventId: n.eventId, dataMissing: n.dataMissing },
            },
            [
              el('div', { className: 'n-head' }, [
                el('span', { className: 'n-title', text: n.title, title: n.title }),
                el('span', { className: 'n-meta', text: `pid ${n.pid} · ${formatClockMs(n.atMs)}` }),
              ]),
              el('div', { className: 'n-body', testId: 'notification-body', text: n.body }),
              el('div', { className: 'n-event', text: n.eventId }),
            ],
          ),
        ),
      );
    },
  };
}
