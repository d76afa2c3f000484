/**
 * The demo world the app runs in with no set-up: the desktop device under test, a sender, and a room they share.
 *
 * Runtime: node. The desktop account is saved in the store (the main sync process and the notifiers read it from
 * there); the sender's credentials stay in the host's memory, since only the host sends. Registration is
 * idempotent: on an existing data directory the same users log in again with the same device IDs, so the
 * desktop device keeps its to-device queue across app restarts.
 */
import { MatrixClient } from '../../engine/matrix-client';
import type { Account } from '../../store/account';
import type { ClientStore } from '../../store/open-store';
import { ensureAccount } from './account-setup';

export const DEMO_PASSWORD = 'todevice-demo';
export const DEMO_DESKTOP = { user: 'desktop', deviceId: 'DESKTOP' };
export const DEMO_SENDER = { user: 'sender', deviceId: 'SENDER' };

export interface DemoWorld {
  desktop: Account;
  sender: MatrixClient;
  senderUserId: string;
  roomId: string;
}

export async function setUpDemoWorld(store: ClientStore, homeserverUrl: string): Promise<DemoWorld> {
  const desktop = await ensureAccount(store, { homeserverUrl, ...DEMO_DESKTOP, password: DEMO_PASSWORD, register: true });
  if (!desktop.ok) throw new Error(`demo: cannot log in the desktop user: ${desktop.error.message}`);
  const sender = await loginOrRegister(homeserverUrl, DEMO_SENDER.user, DEMO_SENDER.deviceId);
  const room = await sender.client.createRoom({ name: 'todevice demo', invite: [desktop.value.userId] });
  if (!room.ok) throw new Error(`demo: cannot create the demo room: ${JSON.stringify(room.error)}`);
  // The desktop joins with its own token: room membership belongs to the user, the to-device queue to the device.
  const joined = await new MatrixClient({ baseUrl: homeserverUrl, accessToken: desktop.value.accessToken }).joinRoom(room.value.roomId);
  if (!joined.ok) throw new Error(`demo: the desktop user cannot join the demo room: ${JSON.stringify(joined.error)}`);
  return { desktop: desktop.value, sender: sender.client, senderUserId: sender.userId, roomId: room.value.roomId };
}

async function loginOrRegister(baseUrl: string, user: string, deviceId: string): Promise<{ client: MatrixClient; userId: string }> {
  const anonymous = new MatrixClient({ baseUrl });
  let login = await anonymous.login({ user, password: DEMO_PASSWORD, deviceId });
  if (!login.ok) login = await anonymous.register({ username: user, password: DEMO_PASSWORD, deviceId });
  if (!login.ok) throw new Error(`demo: cannot log in or register ${user}: ${JSON.stringify(login.error)}`);
  return { client: anonymous.withAccessToken(login.value.access_token), userId: login.value.user_id };
}
