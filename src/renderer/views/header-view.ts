/**
 * The top bar: which homeserver, user, device and strategy the host runs, which transport carries the API,
 * and whether snapshots are arriving.
 *
 * Runtime: browser.
 */
import type { DashboardSnapshot } from '../../shared/ui-api';
import { byTestId, setText } from '../dom';
import type { ConnectionState } from '../ui-client-http';
import type { View } from './view';

export interface HeaderView extends View {
  setConnection(state: ConnectionState): void;
  setTransport(name: string): void;
}

const connectionText: Record<ConnectionState, string> = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  // Without the launch's secret the bridge answers nothing: say what to do, not just that it failed.
  unauthorized: 'no access: open the URL todevice printed',
};

export function createHeaderView(root: ParentNode): HeaderView {
  const homeserver = byTestId(root, 'meta-homeserver');
  const user = byTestId(root, 'meta-user');
  const device = byTestId(root, 'meta-device');
  const strategy = byTestId(root, 'meta-strategy');
  const connection = byTestId(root, 'connection');
  const transport = byTestId(root, 'meta-transport');
  return {
    render(snapshot: DashboardSnapshot) {
      setText(homeserver, snapshot.homeserverUrl);
      setText(user, snapshot.userId);
      setText(device, snapshot.deviceId);
      setText(strategy, snapshot.strategy);
      strategy.dataset.strategy = snapshot.strategy;
    },
    setTransport(name) {
      setText(transport, name);
    },
    setConnection(state) {
      connection.dataset.state = state;
      setText(connection, connectionText[state]);
      connection.title = state === 'unauthorized' ? 'The bridge refused this page: open the full URL (with #token=…) that todevice start printed' : '';
    },
  };
}
