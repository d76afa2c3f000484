/**
 * The dashboard's entry: picks the transport, creates the views, and draws every snapshot the host pushes.
 *
 * Runtime: browser (sandboxed renderer in Electron, or any browser against the loopback bridge). It wires and
 * does nothing else; each view owns its part of index.html.
 */
import type { DashboardSnapshot } from '../shared/ui-api';
import { chooseTransport } from './transport';
import { createControlsView } from './views/controls-view';
import { createCountersView } from './views/counters-view';
import { createCountsChart } from './views/counts-chart';
import { createEncryptionCountersView } from './views/encryption-counters-view';
import { createOlmCountersView } from './views/olm-counters-view';
import { createHeaderView } from './views/header-view';
import { createInboxView } from './views/inbox-view';
import { createLanesView } from './views/lanes-view';
import { createLatencyChart } from './views/latency-chart';
import { createLeaseView } from './views/lease-view';
import { createNotificationsView } from './views/notifications-view';
import { createRaceView } from './views/race-view';
import { createRunView } from './views/run-view';
import { createStorageView } from './views/storage-view';
import { createTimelineView } from './views/timeline-view';
import type { View } from './views/view';

const header = createHeaderView(document);
const transport = chooseTransport((state) => header.setConnection(state));
header.setTransport(transport.name);

const views: View[] = [
  header,
  createRunView(document),
  createCountersView(document),
  createEncryptionCountersView(document),
  createOlmCountersView(document),
  createControlsView(document, transport.client),
  createLatencyChart(document),
  createCountsChart(document),
  createLeaseView(document),
  createLanesView(document),
  createInboxView(document),
  createNotificationsView(document),
  createTimelineView(document),
  createRaceView(document, transport.client),
  createStorageView(document),
];

// A snapshot:get answer can arrive after a newer pushed snapshot; drawing it would step the dashboard back.
let drawnAtMs = -Infinity;
function draw(snapshot: DashboardSnapshot): void {
  if (snapshot.atMs < drawnAtMs) return;
  drawnAtMs = snapshot.atMs;
  const nowMs = Date.now();
  for (const view of views) view.render(snapshot, nowMs);
  header.setConnection('live');
  document.body.dataset.snapshotAtMs = String(snapshot.atMs);
}

transport.client.onSnapshot(draw);
void transport.client.call('snapshot:get', {}).then((result) => {
  if (result.ok) draw(result.value);
});
