/**
 * The demo world the app runs in with no set-up: the desktop device under test, a sender, and a room they share.
 *
 * Runtime: node. The desktop account is saved in the store (the main sync process and the notifiers read it from
 * there); the sender's credentials stay in the host's memory, since only the host sends. Registration is
 * idempotent: on an existing data directory the same users log in again. The desktop logs in with the same
 * device ID, so it keeps its to-device queue and its Olm identity across app restarts. The sender logs in as a
 * new device at every start: its Olm machine lives only in the host's memory, and a device that has lost its
 * Olm keys must not reuse its device ID (its new one-time keys would reuse key IDs the homeserver already holds
 * with other keys, which a homeserver refuses), just as a real client that lost its crypto store logs in anew.
 */
import { describeClientError } from '../../engine/describe-failure';
import { MatrixClient } from '../../engine/matrix-client';
import type { Account } from '../../store/account';
import type { ClientStore } from '../../store/open-store';
import type { HomeserverBinding } from '../../store/account';
import { ensureStoredAccount } from './account-setup';

export const DEMO_PASSWORD = 'todevice-demo';
export const DEMO_DESKTOP = { user: 'desktop', deviceId: 'DESKTOP' };
/** The sender's user; its device ID is new at every start (see above). */
export const DEMO_SENDER_USER = 'sender';

/** The demo world could not be set up: a user's problem (wrong server, another account's store), one line. */
export class DemoSetupError extends Error {
  override name = 'DemoSetupError';
}

export interface DemoWorld {
  desktop: Account;
  sender: MatrixClient;
  senderUserId: string;
  roomId: string;
}

/**
 * `homeserverBinding` is `embedded` when the host runs the data directory's own homeserver (its port changes at
 * every launch) and `url` for a homeserver given by URL.
 */
export async function setUpDemoWorld(store: ClientStore, homeserverUrl: string, homeserverBinding: HomeserverBinding): Promise<DemoWorld> {
  const desktop = await ensureStoredAccount(store, { homeserverUrl, ...DEMO_DESKTOP, password: DEMO_PASSWORD, register: true, homeserverBinding });
  if (!desktop.ok) throw new DemoSetupError(desktop.error.kind === 'not-this-store' ? desktop.error.message : `cannot log in the demo user: ${desktop.error.message}`);
  const sender = await loginOrRegisterNewDevice(homeserverUrl, DEMO_SENDER_USER);
  const room = await sender.client.createRoom({ name: 'todevice demo', invite: [desktop.value.userId] });
  if (!room.ok) throw new DemoSetupError(`cannot create the demo room: ${describeClientError(room.error, { homeserverUrl })}`);
  // The desktop joins with its own token: room membership belongs to the user, the to-device queue to the device.
  const joined = await new MatrixClient({ baseUrl: homeserverUrl, accessToken: desktop.value.accessToken }).joinRoom(room.value.roomId);
  if (!joined.ok) throw new DemoSetupError(`the demo user cannot join the demo room: ${describeClientError(joined.error, { homeserverUrl })}`);
  return { desktop: desktop.value, sender: sender.client, senderUserId: sender.userId, roomId: room.value.roomId };
}

/** Logs `user` in (registering it the first time) without a device ID, so the homeserver makes a new device. */
async function loginOrRegisterNewDevice(baseUrl: string, user: string): Promise<{ client: MatrixClient; userId: string }> {
  const anonymous = new MatrixClient({ baseUrl });
  let login = await anonymous.login({ user, password: DEMO_PASSWORD });
  if (!login.ok) login = await anonymous.register({ username: user, password: DEMO_PASSWORD });
  if (!login.ok) throw new DemoSetupError(`cannot log in or register ${user}: ${describeClientError(login.error, { homeserverUrl: baseUrl })}`);
  return { client: anonymous.withAccessToken(login.value.access_token), userId: login.value.user_id };
}
