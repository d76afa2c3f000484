/**
 * The app's device (user and device ID), read from its store, for tests that arm faults or send messages to it
 * on the kit's homeserver.
 *
 * Runtime: Playwright (node).
 */
import path from 'node:path';
import { CLIENT_DB_FILE } from '../../src/shared/data-layout';
import { readAccount } from '../../src/store/account';
import { readStoreReadOnly } from '../../src/store/open-store';

export function appDevice(dataDir: string): { userId: string; deviceId: string } {
  const account = readStoreReadOnly(path.join(dataDir, CLIENT_DB_FILE), (store) => readAccount(store));
  if (account === undefined) throw new Error(`no account in ${dataDir}`);
  return { userId: account.userId, deviceId: account.deviceId };
}
