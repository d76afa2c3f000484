/**
 * Gets the main process an authenticated account and stores it where the notifier will find it.
 *
 * Runtime: node. The device ID is what matters for to-device delivery: the server keeps one queue per device, so
 * a restarted main process must come back as the same device (logging in with the stored `device_id` keeps the
 * device and its queue). A stored access token that still works is reused; otherwise we log in again.
 */
import type { MatrixClientError } from '../../engine/http';
import { MatrixClient } from '../../engine/matrix-client';
import type { Result } from '../../shared/result';
import { err, ok } from '../../shared/result';
import { readAccount, saveAccount, type Account } from '../../store/account';
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
}

export type AccountError = { kind: 'login-failed'; message: string; cause: MatrixClientError };

export async function ensureAccount(store: ClientStore, request: AccountRequest): Promise<Result<Account, AccountError>> {
  const stored = readAccount(store);
  const sameAccount = stored !== undefined && stored.homeserverUrl === request.homeserverUrl && matchesUser(stored.userId, request.user);
  if (sameAccount && (request.deviceId === undefined || request.deviceId === stored.deviceId)) {
    const probe = await new MatrixClient({ baseUrl: stored.homeserverUrl, accessToken: stored.accessToken }).whoami();
    if (probe.ok && probe.value.deviceId === stored.deviceId) return ok(stored);
  }
  const deviceId = request.deviceId ?? (sameAccount ? stored.deviceId : undefined);
  const client = new MatrixClient({ baseUrl: request.homeserverUrl });
  const credentials = { user: request.user, password: request.password, ...(deviceId === undefined ? {} : { deviceId }) };
  let login = await client.login(credentials);
  if (!login.ok && request.register && isUnknownUser(login.error)) {
    login = await client.register({ username: localpart(request.user), password: request.password, ...(deviceId === undefined ? {} : { deviceId }) });
  }
  if (!login.ok) return err({ kind: 'login-failed', message: describe(login.error), cause: login.error });
  const account: Account = {
    homeserverUrl: request.homeserverUrl,
    userId: login.value.user_id,
    deviceId: login.value.device_id,
    accessToken: login.value.access_token,
  };
  saveAccount(store, account);
  return ok(account);
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

function describe(error: MatrixClientError): string {
  if (error.kind === 'http') return `${error.status} ${error.errcode ?? ''} ${error.message}`.trim();
  if (error.kind === 'aborted') return 'aborted';
  return error.message;
}
