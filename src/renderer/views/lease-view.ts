/**
 * The lease (holder, generation, expiry) and the shared to-device token with its recent history.
 *
 * Runtime: browser. The expiry counts down between snapshots on a local timer, because the host publishes only
 * when something changes and a lease that quietly lapses is exactly what F10 is about. Host and dashboard run on
 * the same machine, so their clocks agree. A lease given up on purpose (src/store/lease.ts sets its expiry to 0
 * and keeps the holder's name) is "released by" that holder, not a lease that lapsed decades ago; a lapsed one
 * (its holder stopped renewing it: killed, suspended, stalled) is the case worth a warning colour.
 */
import type { DashboardSnapshot } from '../../shared/ui-api';
import { byTestId, el, setText } from '../dom';
import { formatAgo, formatDurationMs, shortenToken } from '../format';
import type { View } from './view';

const countdownIntervalMs = 200;
/** The bar is full at this much remaining lease time; longer leases just show full. */
const leaseBarFullMs = 10_000;
const historyShown = 7;

export type LeaseState = 'none' | 'held' | 'released' | 'lapsed';

export interface LeaseDescription {
  state: LeaseState;
  /** Who holds it now; `nobody` once it was released or never taken. */
  holder: string;
  expiry: string;
  /** Share of the bar to fill, 0 to 100. */
  barPercent: number;
}

/** What the lease panel says about `lease` at `nowMs`. Pure, so it is tested without a page. */
export function describeLease(lease: DashboardSnapshot['lease'], nowMs: number): LeaseDescription {
  if (lease.expiresAtMs === null || lease.holder === null) return { state: 'none', holder: 'nobody', expiry: 'never taken', barPercent: 0 };
  if (lease.released) return { state: 'released', holder: 'nobody', expiry: `released by ${lease.holder}`, barPercent: 0 };
  const remainingMs = lease.expiresAtMs - nowMs;
  if (remainingMs <= 0) return { state: 'lapsed', holder: lease.holder, expiry: `lapsed ${formatDurationMs(-remainingMs)} ago`, barPercent: 0 };
  return { state: 'held', holder: lease.holder, expiry: `in ${formatDurationMs(remainingMs)}`, barPercent: Math.min(100, (remainingMs / leaseBarFullMs) * 100) };
}

export function createLeaseView(root: ParentNode): View {
  const holder = byTestId(root, 'lease-holder');
  const generation = byTestId(root, 'lease-generation');
  const expiry = byTestId(root, 'lease-expiry');
  const bar = byTestId(root, 'lease-bar');
  const since = byTestId(root, 'token-since');
  const history = byTestId(root, 'token-history');
  let lease: DashboardSnapshot['lease'] | undefined;

  const drawLease = (nowMs: number): void => {
    if (lease === undefined) return;
    const described = describeLease(lease, nowMs);
    setText(holder, described.holder);
    holder.dataset.holder = described.state === 'held' || described.state === 'lapsed' ? described.holder : '';
    setText(expiry, described.expiry);
    expiry.title = described.expiry;
    expiry.dataset.state = described.state;
    bar.style.width = `${described.barPercent}%`;
  };
  setInterval(() => drawLease(Date.now()), countdownIntervalMs);

  return {
    render(snapshot, nowMs) {
      lease = snapshot.lease;
      setText(generation, String(snapshot.lease.generation));
      drawLease(nowMs);
      setText(since, snapshot.token.since ?? 'none yet (first sync)');
      since.title = snapshot.token.since ?? '';
      history.replaceChildren(
        ...snapshot.token.history.slice(0, historyShown).map((entry) =>
          el('li', { testId: 'token-history-item' }, [
            el('code', { text: entry.since === null ? 'null' : shortenToken(entry.since), title: entry.since ?? '' }),
            el('span', { className: 'who', text: entry.process, title: entry.process }),
            el('span', { className: 'when', text: formatAgo(entry.atMs, nowMs) }),
          ]),
        ),
      );
    },
  };
}
