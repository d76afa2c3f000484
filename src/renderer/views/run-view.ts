/**
 * Says which run the figures belong to: "this run, since 14:03:27" beside each panel's title, and, when the data
 * directory holds figures from earlier runs, one line per panel that names them apart ("earlier runs in this data
 * directory, not counted above: …"), so a loss left by yesterday's `legacy` run is not read as today's.
 *
 * Runtime: browser. The host splits the figures (src/main/host/dashboard-snapshot.ts); this view only words them.
 * The numbers in the line are the host's; a harmful one (lost, duplicated, unable to decrypt) is marked like
 * its tile, but the line stays small: it is history, not this run's verdict.
 */
import type { DeliveryCounters, EncryptionCounters } from '../../shared/ui-api';
import { byTestId, el } from '../dom';
import { formatClockS, formatCount } from '../format';
import type { View } from './view';

type Part = string | { text: string; bad: boolean };

export function createRunView(root: Document): View {
  const delivery = byTestId(root, 'earlier-delivery');
  const encryption = byTestId(root, 'earlier-encryption');
  const timeline = byTestId(root, 'earlier-timeline');
  const notifications = byTestId(root, 'earlier-notifications');
  let drawnKey = '';
  return {
    render(snapshot) {
      const key = JSON.stringify([snapshot.run, snapshot.earlierRuns]);
      if (key === drawnKey) return;
      drawnKey = key;
      const since = `this run · since ${formatClockS(snapshot.run.startedAtMs)}`;
      for (const label of root.querySelectorAll<HTMLElement>('.run-since')) label.textContent = since;
      const earlier = snapshot.earlierRuns;
      fill(delivery, earlier === null ? null : deliveryLine(earlier.counters));
      fill(encryption, earlier === null ? null : encryptionLine(earlier.encryption));
      fill(timeline, earlier === null || earlier.encryption.timelineEncrypted === 0 ? null : [`${formatCount(earlier.encryption.timelineEncrypted)} encrypted messages of earlier runs are not listed.`]);
      const shown = earlier === null ? 0 : notificationTotal(earlier.encryption);
      fill(notifications, shown === 0 ? null : [`${formatCount(shown)} notifications of earlier runs are not listed.`]);
    },
  };
}

function fill(element: HTMLElement, parts: Part[] | null): void {
  element.hidden = parts === null;
  element.replaceChildren(
    ...(parts ?? []).map((part) => (typeof part === 'string' ? part : el('b', { className: part.bad ? 'bad' : '', text: part.text }))),
  );
}

const figure = (count: number, label: string, harmful = false): Part => ({ text: `${formatCount(count)} ${label}`, bad: harmful && count > 0 });

function joinParts(parts: Part[]): Part[] {
  return parts.flatMap((part, i) => (i === 0 ? [part] : [' · ', part]));
}

export function deliveryLine(c: DeliveryCounters): Part[] {
  return [
    'Earlier runs in this data directory, not counted above: ',
    ...joinParts([
      figure(c.sent, 'sent'),
      figure(c.received, 'received'),
      figure(c.lost, 'lost', true),
      figure(c.duplicated, 'duplicated', true),
      figure(c.pendingOnServer + c.pendingLocally, 'still pending'),
    ]),
    '. Reset the data directory (Controls) to start clean.',
  ];
}

export function encryptionLine(c: EncryptionCounters): Part[] {
  return [
    'Earlier runs: ',
    ...joinParts([
      figure(notificationTotal(c), 'notifications'),
      figure(c.notificationsUnableToDecrypt, 'of them unable to decrypt', true),
      figure(c.timelineEncrypted, 'timeline messages'),
      figure(c.timelineUnableToDecrypt + c.timelineAwaitingKey, 'of them unable to decrypt', true),
      figure(c.timelineLate, 'decrypted late'),
    ]),
    '.',
  ];
}

function notificationTotal(c: EncryptionCounters): number {
  return c.notificationsDecrypted + c.notificationsUnableToDecrypt + c.notificationsOther;
}
