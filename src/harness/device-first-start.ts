/**
 * A receiving device's first start, before a race or a bench case: its Olm account is created in the store and
 * its keys are published, as a real device's are long before anyone sends to it.
 *
 * Runtime: node. Without this, a sender's first room key could find no keys to encrypt for whenever the schedule
 * kills or holds back the processes that would publish them (the bench's "no main process" condition has none
 * until the first notifier, which starts only after a key was sent). The account, its pickle and the pickle key
 * file beside the store are the ones the device's own processes open (`filePickleKeySource`, `ensureOlmAccount`),
 * so they find an account whose keys are already published; no secret is printed.
 */
import path from 'node:path';
import { ensureOlmAccount, publishKeys } from '../crypto/olm-keys';
import { loadOlm } from '../crypto/olm-library';
import { describePickleKeyError, filePickleKeySource } from '../crypto/pickle-key';
import { describeClientError } from '../engine/describe-failure';
import { MatrixClient } from '../engine/matrix-client';
import type { Account } from '../store/account';
import { openOlmState } from '../store/olm-state';
import type { ClientStore } from '../store/open-store';

export async function publishDeviceKeysAtFirstStart(store: ClientStore, account: Account): Promise<void> {
  await loadOlm();
  const key = await filePickleKeySource(path.dirname(store.path)).load();
  if (!key.ok) throw new Error(`the receiving device's pickle key: ${describePickleKeyError(key.error)}`);
  const state = openOlmState(store);
  const identity = ensureOlmAccount(state, key.value, { userId: account.userId, deviceId: account.deviceId }, Date.now());
  if (!identity.ok) throw new Error(`the receiving device's Olm account: ${identity.error.message}`);
  const client = new MatrixClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken });
  const outcome = await publishKeys({ state, pickleKey: key.value, uploader: client, holder: 'first-start', nowMs: Date.now });
  if (outcome.kind === 'upload-failed') throw new Error(`the receiving device's keys were not published: ${describeClientError(outcome.error)}`);
  if (outcome.kind !== 'published') throw new Error(`the receiving device's keys were not published: ${outcome.kind}`);
}
