/**
 * The Matrix account this data directory belongs to.
 *
 * Runtime: node. The main process writes it after login or registration; the notifier reads its credentials
 * from here (it is started per push and has no other way to learn them). The file is mode 0600 because of the
 * access token (see open-store.ts).
 *
 * A store belongs to one account on one homeserver, for good: its to-device token, inbox and cursors only mean
 * something for that device's queue on that server. `homeserverBinding` says how the server is recognised: by its
 * URL (`url`, compared in canonical form), or as the app's own embedded server in the same data directory
 * (`embedded`), whose port changes at every launch. It is kept in `todevice_meta`, so a store written before the
 * binding existed reads as `url`, which is what it was.
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

export type HomeserverBinding = 'url' | 'embedded';

const BINDING_META_KEY = 'homeserver_binding';

/** Saves the account and its binding in one transaction. */
export function saveAccount(store: ClientStore, account: Account, clock: Clock = systemClock, binding: HomeserverBinding = 'url'): void {
  store.immediate(() => {
    store
      .statement(
        `INSERT INTO account (id, homeserver_url, user_id, device_id, access_token, updated_at_ms)
         VALUES (1, @homeserverUrl, @userId, @deviceId, @accessToken, @nowMs)
         ON CONFLICT (id) DO UPDATE SET homeserver_url = excluded.homeserver_url, user_id = excluded.user_id,
           device_id = excluded.device_id, access_token = excluded.access_token, updated_at_ms = excluded.updated_at_ms`,
      )
      .run({ ...account, nowMs: clock.nowMs() });
    store
      .statement('INSERT INTO todevice_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(BINDING_META_KEY, binding);
  });
}

export function readAccount(store: ClientStore): Account | undefined {
  const row = store
    .statement('SELECT homeserver_url, user_id, device_id, access_token FROM account WHERE id = 1')
    .get() as { homeserver_url: string; user_id: string; device_id: string; access_token: string } | undefined;
  return row === undefined
    ? undefined
    : { homeserverUrl: row.homeserver_url, userId: row.user_id, deviceId: row.device_id, accessToken: row.access_token };
}

export function readHomeserverBinding(store: ClientStore): HomeserverBinding {
  const row = store.statement('SELECT value FROM todevice_meta WHERE key = ?').get(BINDING_META_KEY) as { value: string } | undefined;
  return row?.value === 'embedded' ? 'embedded' : 'url';
}
