/**
 * The lease (holder, generation, expiry) and the shared to-device token with its recent history.
 *
 * Runtime: browser. The expiry counts down between snapshots on a local timer, because the host publishes only
 * when something changes and a lease that quietly lapses is exactly what F10 is about. Host and dashboard run on
 * the same machine, so their clocks agree.
 */
import type { DashboardSnapshot } from '../../shared/ui-api';
import { byTestId, el, setText } from '../dom';
import { formatAgo, formatDurationMs, shortenToken } from '../format';
import type { View } from './view';

const countdownIntervalMs = 200;
/** The bar is full at this much remaining lease time; longer leases just show full. */
const leaseBarFullMs = 10_000;
const historyShown = 7;

export function createLeaseView(root: ParentNode): View {
  const holder = byTestId(root, 'lease-holder');
  const generation = byTestId(root, 'lease-generation');
  const expiry = byTestId(root, 'lease-expiry');
  const bar = byTestId(root, 'lease-bar');
  const since = byTestId(root, 'token-since');
  const history = byTestId(root, 'token-history');
  let lease: DashboardSnapshot['lease'] | undefined;

  const drawExpiry = (nowMs: number): void => {
    const expiresAtMs = lease?.expiresAtMs ?? null;
    if (expiresAtMs === null) {
      setText(expiry, 'no lease');
      expiry.dataset.state = 'none';
      bar.style.width = '0%';
      return;
    }
    const remainingMs = expiresAtMs - nowMs;
    expiry.dataset.state = remainingMs > 0 ? 'held' : 'lapsed';
    setText(expiry, remainingMs > 0 ? `in ${formatDurationMs(remainingMs)}` : `lapsed ${formatDurationMs(-remainingMs)} ago`);
    bar.style.width = `${Math.max(0, Math.min(100, (remainingMs / leaseBarFullMs) * 100))}%`;
  };
  setInterval(() => drawExpiry(Date.now()), countdownIntervalMs);

  return {
    render(snapshot, nowMs) {
      lease = snapshot.lease;
      setText(holder, snapshot.lease.holder ?? 'nobody');
      holder.dataset.holder = snapshot.lease.holder ?? '';
      setText(generation, String(snapshot.lease.generation));
      drawExpiry(nowMs);
      setText(since, snapshot.token.since ?? 'none yet (first sync)');
      since.title = snapshot.token.since ?? '';
      history.replaceChildren(
        ...snapshot.token.history.slice(0, historyShown).map((entry) =>
          el('li', { testId: 'token-history-item' }, [
            el('code', { text: entry.since === null ? 'null' : shortenToken(entry.since), title: entry.since ?? '' }),
            el('span', { className: 'who', text: entry.process }),
            el('span', { className: 'when', text: formatAgo(entry.atMs, nowMs) }),
          ]),
        ),
      );
    },
  };
}
