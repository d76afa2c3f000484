/**
 * Gets the main process an authenticated account, and makes sure a data directory never changes hands.
 *
 * Runtime: node. The device ID is what matters for to-device delivery: the server keeps one queue per device, so
 * a restarted main process must come back as the same device (logging in with the stored `device_id` keeps the
 * device and its queue). A stored access token that still works is reused; otherwise we log in again.
 *
 * A store belongs to one account (src/store/account.ts). Asked to run it as another user, another device or
 * against another homeserver, we refuse with one line saying whom it belongs to and what to do, before any
 * request: logging in as someone else would keep the old token, inbox, cursors and keys under a new identity,
 * and a new device would strand the old device's queued messages on the server. Homeserver URLs are compared in
 * canonical form (src/shared/homeserver-url.ts). A server that really moved is accepted with `homeserverMoved`,
 * once it confirms the stored user and device.
 *
 * Nothing here writes to a store: `ensureAccount` returns the account, and the caller saves it, so a caller can
 * log in before creating anything on disk.
 */
import { describeClientError } from '../../engine/describe-failure';
import type { MatrixClientError } from '../../engine/http';
import { MatrixClient } from '../../engine/matrix-client';
import { sameHomeserver } from '../../shared/homeserver-url';
import type { Result } from '../../shared/result';
import { err, ok } from '../../shared/result';
import { readAccount, readHomeserverBinding, saveAccount, type Account, type HomeserverBinding } from '../../store/account';
import type { ClientStore } from '../../store/open-store';

export interface AccountRequest {
  homeserverUrl: string;
  /** Localpart or full user ID. */
  user: string;
  password: string;
  /** Device to log in as; default: the stored one, else whatever the server assigns. */
  deviceId?: string;
  /** Register the user first when it does not exist. */
  register?: boolean;
  /**
   * How the store recognises its homeserver. `url` (default): by its URL. `embedded`: it is the app's own server
   * in the same data directory, reached at a new port at every launch.
   */
  homeserverBinding?: HomeserverBinding;
  /** The store's homeserver now answers at `homeserverUrl`: accept the new URL once it confirms the stored account. */
  homeserverMoved?: boolean;
}

/** Whom a store belongs to, as read from it. */
export interface StoredOwner {
  account: Account;
  binding: HomeserverBinding;
}

export type AccountError =
  | { kind: 'login-failed'; message: string; cause: MatrixClientError }
  /** The store belongs to another account; the message says whose and what to do. */
  | { kind: 'not-this-store'; message: string };

export function readStoredOwner(store: ClientStore): StoredOwner | undefined {
  const account = readAccount(store);
  return account === undefined ? undefined : { account, binding: readHomeserverBinding(store) };
}

/**
 * The account to run as: the stored one when it matches the request (its token probed, else a fresh login with
 * the stored device), or a new login when the store has none. `storeLabel` names the store in refusals.
 */
export async function ensureAccount(
  owner: StoredOwner | undefined,
  request: AccountRequest,
  storeLabel: string,
): Promise<Result<Account, AccountError>> {
  if (owner !== undefined) {
    const mismatch = ownerMismatch(owner, request, storeLabel);
    if (mismatch !== undefined) return err({ kind: 'not-this-store', message: mismatch });
    const probe = await new MatrixClient({ baseUrl: request.homeserverUrl, accessToken: owner.account.accessToken }).whoami();
    if (probe.ok && probe.value.userId === owner.account.userId && probe.value.deviceId === owner.account.deviceId) {
      return ok({ ...owner.account, homeserverUrl: request.homeserverUrl });
    }
  }
  const deviceId = request.deviceId ?? owner?.account.deviceId;
  const client = new MatrixClient({ baseUrl: request.homeserverUrl });
  const credentials = { user: request.user, password: request.password, ...(deviceId === undefined ? {} : { deviceId }) };
  let login = await client.login(credentials);
  if (!login.ok && request.register && isUnknownUser(login.error)) {
    login = await client.register({ username: localpart(request.user), password: request.password, ...(deviceId === undefined ? {} : { deviceId }) });
  }
  if (!login.ok) {
    return err({ kind: 'login-failed', message: describeClientError(login.error, { homeserverUrl: request.homeserverUrl }), cause: login.error });
  }
  const account: Account = {
    homeserverUrl: request.homeserverUrl,
    userId: login.value.user_id,
    deviceId: login.value.device_id,
    accessToken: login.value.access_token,
  };
  // A localpart resolves on the server: it may name another user ID than the stored one (another server name).
  if (owner !== undefined && (account.userId !== owner.account.userId || account.deviceId !== owner.account.deviceId)) {
    return err({ kind: 'not-this-store', message: `${belongsTo(owner, storeLabel)}, but that login is ${account.userId} (device ${account.deviceId}); ${NEW_DIRECTORY}` });
  }
  return ok(account);
}

/** `ensureAccount` on a store that is already open, saving the result in it. */
export async function ensureStoredAccount(store: ClientStore, request: AccountRequest): Promise<Result<Account, AccountError>> {
  const result = await ensureAccount(readStoredOwner(store), request, store.path);
  if (result.ok) saveAccount(store, result.value, undefined, request.homeserverBinding ?? 'url');
  return result;
}

const NEW_DIRECTORY = 'use a new --data directory for another account';

/** Why this store is not the requested account's, in one line, or undefined when it is. */
export function ownerMismatch(owner: StoredOwner, request: AccountRequest, storeLabel: string): string | undefined {
  const stored = owner.account;
  const wantedBinding = request.homeserverBinding ?? 'url';
  if (!matchesUser(stored.userId, request.user)) {
    return `${belongsTo(owner, storeLabel)}, not ${request.user}; ${NEW_DIRECTORY}`;
  }
  if (request.deviceId !== undefined && request.deviceId !== stored.deviceId) {
    return (
      `${belongsTo(owner, storeLabel)}, not device ${request.deviceId}; to use this directory leave out the device ` +
      `or pass ${stored.deviceId}, or use a new --data directory for another device`
    );
  }
  if (owner.binding !== wantedBinding) {
    const wanted = wantedBinding === 'embedded' ? "the app's embedded homeserver" : request.homeserverUrl;
    return `${belongsTo(owner, storeLabel)}, not to ${wanted}; use a new --data directory`;
  }
  if (wantedBinding === 'url' && !sameHomeserver(stored.homeserverUrl, request.homeserverUrl) && request.homeserverMoved !== true) {
    return (
      `${belongsTo(owner, storeLabel)}, not to ${request.homeserverUrl}; if that server now answers at the new ` +
      'address, pass --homeserver-moved; otherwise use a new --data directory'
    );
  }
  return undefined;
}

function belongsTo(owner: StoredOwner, storeLabel: string): string {
  const server = owner.binding === 'embedded' ? "the app's embedded homeserver" : owner.account.homeserverUrl;
  return `${storeLabel} belongs to ${owner.account.userId} (device ${owner.account.deviceId}) on ${server}`;
}

function localpart(user: string): string {
  return user.startsWith('@') ? user.slice(1).split(':')[0] ?? user : user;
}

function matchesUser(userId: string, user: string): boolean {
  return user.startsWith('@') ? userId === user : localpart(userId) === user;
}

/** A password login for a user that does not exist fails with 403 M_FORBIDDEN, the same as a wrong password. */
function isUnknownUser(error: MatrixClientError): boolean {
  return error.kind === 'http' && error.status === 403;
}
