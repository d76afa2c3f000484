/**
 * This run's delivery counters, large: sent, received, lost, duplicated, and what is still on its way, split
 * in two because they are different waits: pending on the server (queued there, not acknowledged) and pending
 * locally (committed to our inbox, not yet handled by the main process). Lost or duplicated above zero is the
 * failure this project exists to prevent, so those tiles turn red; both at zero with traffic sent turn green.
 * Messages on their way are normal, not a warning: their tiles are drawn in the "in flight" colour.
 *
 * Runtime: browser. The numbers are the host's, checked against the homeserver's record; nothing is derived here.
 */
import type { DeliveryCounters } from '../../shared/ui-api';
import { byTestId, setText } from '../dom';
import { formatCount } from '../format';
import type { View } from './view';

const tiles = [
  { kind: 'sent', testId: 'counter-sent' },
  { kind: 'received', testId: 'counter-received' },
  { kind: 'lost', testId: 'counter-lost' },
  { kind: 'duplicated', testId: 'counter-duplicated' },
  { kind: 'pendingOnServer', testId: 'counter-pending-server' },
  { kind: 'pendingLocally', testId: 'counter-pending-local' },
] as const satisfies ReadonlyArray<{ kind: keyof DeliveryCounters; testId: string }>;

type TileKind = (typeof tiles)[number]['kind'];

export function createCountersView(root: ParentNode): View {
  const values = tiles.map((tile) => ({ kind: tile.kind, value: byTestId(root, tile.testId) }));
  return {
    render(snapshot) {
      const counters = snapshot.counters;
      for (const { kind, value } of values) {
        setText(value, formatCount(counters[kind]));
        // The raw number, for tests and for copying, without the display's digit grouping.
        value.dataset.value = String(counters[kind]);
        const tile = value.parentElement;
        if (tile) tile.dataset.status = deliveryStatus(kind, counters);
      }
    },
  };
}

/** A tile's colour: `good`, `bad`, `flight` (on its way, as normal) or `neutral`. */
export function deliveryStatus(kind: TileKind, counters: DeliveryCounters): 'good' | 'bad' | 'flight' | 'neutral' {
  switch (kind) {
    case 'lost':
    case 'duplicated':
      if (counters[kind] > 0) return 'bad';
      return counters.sent > 0 ? 'good' : 'neutral';
    case 'received':
      return counters.sent > 0 && counters.received === counters.sent ? 'good' : 'neutral';
    case 'pendingOnServer':
    case 'pendingLocally':
      return counters[kind] > 0 ? 'flight' : 'neutral';
    case 'sent':
      return 'neutral';
  }
}
