/**
 * The device's Olm figures in the encryption panel: one-time keys uploaded (and what the server holds),
 * to-device events decrypted, decryption failures with their reasons, wedged sender devices and the recoveries
 * sent to them. A failure other than an unknown sender device (which a `/keys/query` resolves) and a wedged
 * session are the Olm harm of a strategy that shares Olm state unsafely, so those tiles turn red.
 *
 * Runtime: browser. The numbers are the host's (src/store/olm-stats.ts); only the colours and the reason line
 * are made here.
 */
import type { OlmView } from '../../shared/ui-api';
import { byTestId, setText } from '../dom';
import { formatCount } from '../format';
import type { View } from './view';

/** Resolved by a key query, not a harm. */
const BENIGN_FAILURES: ReadonlySet<string> = new Set(['unknown-device']);

export function createOlmCountersView(root: ParentNode): View {
  const uploaded = byTestId(root, 'counter-olm-one-time-keys');
  const serverHolds = byTestId(root, 'counter-olm-server-keys');
  const decrypted = byTestId(root, 'counter-olm-decrypted');
  const afterQuery = byTestId(root, 'counter-olm-after-query');
  const failures = byTestId(root, 'counter-olm-failures');
  const reasons = byTestId(root, 'counter-olm-failure-reasons');
  const wedged = byTestId(root, 'counter-olm-wedged');
  const recoveries = byTestId(root, 'counter-olm-recoveries');
  return {
    render(snapshot) {
      const olm = snapshot.olm;
      const harmful = Object.entries(olm.failures).filter(([reason, count]) => count > 0 && !BENIGN_FAILURES.has(reason));
      const total = Object.values(olm.failures).reduce((sum, count) => sum + count, 0);
      show(uploaded, olm.oneTimeKeysUploaded, 'neutral');
      setText(serverHolds, olm.serverOneTimeKeys === null ? '' : `server holds ${formatCount(olm.serverOneTimeKeys)}`);
      show(decrypted, olm.decrypted, olm.decrypted > 0 ? 'good' : 'neutral');
      setText(afterQuery, olm.decryptedAfterQuery > 0 ? `${formatCount(olm.decryptedAfterQuery)} after a key query` : '');
      show(failures, total, harmful.length > 0 ? 'bad' : 'neutral');
      setText(reasons, reasonLine(olm));
      show(wedged, olm.wedgedDevices, olm.wedgedDevices > 0 ? 'bad' : 'neutral');
      show(recoveries, olm.recoveries, olm.recoveries > 0 ? 'busy' : 'neutral');
    },
  };
}

function show(value: HTMLElement, count: number, status: string): void {
  setText(value, formatCount(count));
  value.dataset.value = String(count);
  const tile = value.parentElement;
  if (tile) tile.dataset.status = status;
}

function reasonLine(olm: OlmView): string {
  const parts = Object.entries(olm.failures)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${formatCount(count)}`);
  return parts.join(', ');
}
