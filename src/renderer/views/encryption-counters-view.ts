/**
 * This run's encryption counters: Megolm room keys held, notifications shown decrypted or as "unable to
 * decrypt", and the main timeline's encrypted events, those it still cannot decrypt (with, beneath, those still
 * within the grace period, waiting for a key that may be on its way) and those it decrypted only after their
 * key arrived late. An unable-to-decrypt count above zero is the user-visible harm of a lost to-device message,
 * so those tiles turn red, like `lost`; a late decryption is a delay, not a loss, so it turns amber.
 *
 * Runtime: browser. The numbers are the host's (from the store's notification log and the main timeline);
 * nothing is derived here except the colour.
 */
import type { EncryptionCounters } from '../../shared/ui-api';
import { byTestId, setText } from '../dom';
import { formatCount } from '../format';
import type { View } from './view';

/** Each counter and the `data-testid` of its value. */
const tiles = [
  { kind: 'roomKeys', testId: 'counter-room-keys' },
  { kind: 'notificationsDecrypted', testId: 'counter-notifications-decrypted' },
  { kind: 'notificationsUnableToDecrypt', testId: 'counter-notifications-unable-to-decrypt' },
  { kind: 'timelineEncrypted', testId: 'counter-timeline-encrypted' },
  { kind: 'timelineUnableToDecrypt', testId: 'counter-timeline-unable-to-decrypt' },
  { kind: 'timelineLate', testId: 'counter-timeline-late' },
] as const satisfies ReadonlyArray<{ kind: keyof EncryptionCounters; testId: string }>;

type TileKind = (typeof tiles)[number]['kind'];

export function createEncryptionCountersView(root: ParentNode): View {
  const values = tiles.map((tile) => ({ kind: tile.kind, value: byTestId(root, tile.testId) }));
  const awaiting = byTestId(root, 'counter-timeline-awaiting-key');
  return {
    render(snapshot) {
      const counters = snapshot.encryption;
      setText(awaiting, counters.timelineAwaitingKey > 0 ? `+ ${formatCount(counters.timelineAwaitingKey)} waiting for a key` : '');
      awaiting.dataset.value = String(counters.timelineAwaitingKey);
      for (const { kind, value } of values) {
        setText(value, formatCount(counters[kind]));
        // The raw number, for tests and for copying, without the display's digit grouping.
        value.dataset.value = String(counters[kind]);
        const tile = value.parentElement;
        if (tile) tile.dataset.status = statusOf(kind, counters);
      }
    },
  };
}

function statusOf(kind: TileKind, counters: EncryptionCounters): string {
  switch (kind) {
    case 'notificationsUnableToDecrypt':
      if (counters.notificationsUnableToDecrypt > 0) return 'bad';
      return counters.notificationsDecrypted > 0 ? 'good' : 'neutral';
    case 'timelineUnableToDecrypt':
      if (counters.timelineUnableToDecrypt > 0) return 'bad';
      if (counters.timelineAwaitingKey > 0) return 'flight';
      return counters.timelineEncrypted > 0 ? 'good' : 'neutral';
    case 'timelineLate':
      return counters.timelineLate > 0 ? 'busy' : 'neutral';
    case 'roomKeys':
    case 'notificationsDecrypted':
    case 'timelineEncrypted':
      return 'neutral';
  }
}
