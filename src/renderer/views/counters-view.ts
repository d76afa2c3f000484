/**
 * The delivery counters, large: sent, received, lost, duplicated, pending. Lost or duplicated above zero is the
 * failure this project exists to prevent, so those tiles turn red; both at zero with traffic sent turn green.
 *
 * Runtime: browser. The numbers are the host's, checked against the homeserver's record; nothing is derived here.
 */
import type { DeliveryCounters } from '../../shared/ui-api';
import { byTestId, setText } from '../dom';
import { formatCount } from '../format';
import type { View } from './view';

const kinds = ['sent', 'received', 'lost', 'duplicated', 'pending'] as const satisfies ReadonlyArray<keyof DeliveryCounters>;

export function createCountersView(root: ParentNode): View {
  const values = kinds.map((kind) => ({ kind, value: byTestId(root, `counter-${kind}`) }));
  return {
    render(snapshot) {
      const counters = snapshot.counters;
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

function statusOf(kind: (typeof kinds)[number], counters: DeliveryCounters): string {
  switch (kind) {
    case 'lost':
    case 'duplicated':
      if (counters[kind] > 0) return 'bad';
      return counters.sent > 0 ? 'good' : 'neutral';
    case 'received':
      return counters.sent > 0 && counters.received === counters.sent ? 'good' : 'neutral';
    case 'pending':
      return counters.pending > 0 ? 'busy' : 'neutral';
    case 'sent':
      return 'neutral';
  }
}
