/**
 * The Matrix account this data directory belongs to.
 *
 * Runtime: node. The main process writes it after login or registration; the notifier reads its credentials
 * from here (it is started per push and has no other way to learn them). The file is mode 0600 because of the
 * access token (see open-store.ts).
 */
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import type { ClientStore } from './open-store';

export interface Account {
  homeserverUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
}

export function saveAccount(store: ClientStore, account: Account, clock: Clock = systemClock): void {
  store
    .statement(
      `INSERT INTO account (id, homeserver_url, user_id, device_id, access_token, updated_at_ms)
       VALUES (1, @homeserverUrl, @userId, @deviceId, @accessToken, @nowMs)
       ON CONFLICT (id) DO UPDATE SET homeserver_url = excluded.homeserver_url, user_id = excluded.user_id,
         device_id = excluded.device_id, access_token = excluded.access_token, updated_at_ms = excluded.updated_at_ms`,
    )
    .run({ ...account, nowMs: clock.nowMs() });
}

export function readAccount(store: ClientStore): Account | undefined {
  const row = store
    .statement('SELECT homeserver_url, user_id, device_id, access_token FROM account WHERE id = 1')
    .get() as { homeserver_url: string; user_id: string; device_id: string; access_token: string } | undefined;
  return row === undefined
    ? undefined
    : { homeserverUrl: row.homeserver_url, userId: row.user_id, deviceId: row.device_id, accessToken: row.access_token };
}
