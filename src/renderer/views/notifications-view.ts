/**
 * This run's notifications, as the notifier runs built them, newest first, each with its outcome: the plaintext of a decrypted
 * message (or of a plain one), or a plain statement that it could not be shown: unable to decrypt because its
 * room key had not arrived, its unencrypted to-device data missing, or the event not fetched. Those are marked,
 * since "unable to decrypt" is the user-visible symptom of a lost to-device message.
 *
 * The panel's head counts them the way the encryption counters do (the host lists the same rows of the
 * notification log it counts), so the list and the counters agree.
 *
 * Runtime: browser.
 */
import type { EncryptionCounters, NotificationView } from '../../shared/ui-api';
import { byTestId, el, setText } from '../dom';
import { formatClockMs, formatCount } from '../format';
import type { View } from './view';

const shown = 12;

const outcomeText: Record<NotificationView['outcome'], string> = {
  plain: 'plain',
  decrypted: 'decrypted',
  'unable-to-decrypt': 'unable to decrypt',
  withheld: 'key withheld by the sender',
  'data-missing': 'data missing',
  'fetch-failed': 'fetch failed',
};

export function createNotificationsView(root: ParentNode): View {
  const list = byTestId(root, 'notifications');
  const summary = byTestId(root, 'notifications-summary');
  return {
    render(snapshot) {
      setText(summary, summarize(snapshot.encryption, snapshot.notifications.length));
      if (snapshot.notifications.length === 0) {
        list.replaceChildren(el('li', { className: 'empty', text: 'no push yet this run: send a room message' }));
        return;
      }
      list.replaceChildren(...snapshot.notifications.slice(0, shown).map(notificationItem));
    },
  };
}

function summarize(c: EncryptionCounters, listed: number): string {
  const total = c.notificationsDecrypted + c.notificationsUnableToDecrypt + c.notificationsOther;
  if (total === 0) return 'built by each notifier run';
  const parts = [`${formatCount(c.notificationsDecrypted)} decrypted`, `${formatCount(c.notificationsUnableToDecrypt)} unable to decrypt`];
  if (c.notificationsOther > 0) parts.push(`${formatCount(c.notificationsOther)} other`);
  const visible = Math.min(listed, shown);
  const newest = visible < total ? `, newest ${visible} shown` : '';
  return `${formatCount(total)}: ${parts.join(' · ')}${newest}`;
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
