// Scenario support: the account-overwrite race of Element iOS's notification extension and app, on the device's
// real Olm state (src/device/olm-device.ts) against the real reference homeserver in this process. Each "process"
// is an OlmDevice opened on the shared store file with the device's pickle key, as the main sync process and a
// notifier open it; under `legacy` each loads its own copy of the account when it opens and writes it back after
// changing it, last writer wins. The schedule, the same for every strategy, in order (no sleeps, no timing):
//  1. main publishes the device's keys (50 one-time keys); a notifier starts (loads its copy now);
//  2. 30 other devices start sessions with us (30 one-time keys claimed): both processes' syncs report 20 left;
//  3. both replenish at once (as two processes reacting to the same count do), and each process that still has
//     keys waiting retries, as it does after a failed upload;
//  4. 20 more devices claim the older keys, then a matrix-rust-sdk OlmMachine sender claims the next key (one of
//     the replenished ones) and shares a room key with a pre-key message;
//  5. a process started after that (the next notifier) syncs it, learns the sender's device (/keys/query),
//     decrypts it again, and recovers a wedged session if there is one.
// The figures are the race harness's own (olm-oracle.ts) over the shared store.
import { OlmMachineSender } from '../../src/crypto/olm-machine-sender';
import { openOlmDevice, type OlmDevice } from '../../src/device/olm-device';
import { createProcessEngine } from '../../src/engine/create-engine';
import type { MatrixClient } from '../../src/engine/matrix-client';
import { judgeOlm, OlmFailureWatch } from '../../src/harness/olm-oracle';
import type { OlmFigures } from '../../src/harness/report-types';
import type { Strategy } from '../../src/shared/strategies';
import { listInbox } from '../../src/store/inbox';
import { releaseLease, tryAcquireLease } from '../../src/store/lease';
import type { ClientStore } from '../../src/store/open-store';
import { startFixture, type Fixture } from '../unit/engine/homeserver-fixture';
import { tempStore } from '../unit/store/temp-store';

const LEASE_KEY = 'to-device';
const MAIN_HOLDER = 'main:1';
const SIGNED_CURVE25519 = 'signed_curve25519';

export interface AccountOverwriteResult {
  olm: OlmFigures;
  /** Whether the shared room key reached the inbox decrypted. */
  roomKeyDecrypted: boolean;
}

async function open(fixture: Fixture, store: ClientStore, strategy: Strategy, processName: string): Promise<OlmDevice> {
  const opened = await openOlmDevice({ store, account: fixture.receiver, strategy, processName, log: () => undefined });
  if (!opened.ok) throw new Error(opened.error);
  return opened.value;
}

/** `count` other devices each claim one of our one-time keys (as each would to start a session with us). */
async function claimOneTimeKeys(fixture: Fixture, count: number): Promise<void> {
  const { userId, deviceId } = fixture.receiver;
  for (let i = 0; i < count; i += 1) {
    const claimed = await fixture.sender.client.claimKeys({ one_time_keys: { [userId]: { [deviceId]: SIGNED_CURVE25519 } }, timeout: 1000 });
    if (!claimed.ok) throw new Error(`keys/claim failed: ${JSON.stringify(claimed.error)}`);
  }
}

/** What the server reports for our keys now (an empty upload answers the counts), handed to `device` as a sync would. */
async function reportCounts(client: MatrixClient, devices: readonly OlmDevice[]): Promise<void> {
  const answer = await client.uploadKeys({});
  if (!answer.ok) throw new Error(`keys/upload failed: ${JSON.stringify(answer.error)}`);
  for (const device of devices) {
    device.engineHooks().onE2ee({ oneTimeKeyCounts: answer.value.one_time_key_counts, unusedFallbackKeyTypes: [SIGNED_CURVE25519], changedUsers: [] }, Date.now());
  }
}

/** Runs each due device's upkeep until none is due or `rounds` passed (a process retries at its next sync). */
async function maintainWhileDue(client: MatrixClient, devices: readonly OlmDevice[], rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    const due = devices.filter((device) => device.due);
    if (due.length === 0) return;
    await Promise.all(due.map((device) => device.maintain(client)));
  }
}

export async function runAccountOverwrite(strategy: Strategy): Promise<AccountOverwriteResult> {
  const fixture = await startFixture();
  const store = tempStore();
  const client = fixture.receiver.client;
  // Main holds the to-device lease while it syncs; a notifier started meanwhile does not.
  const lease = tryAcquireLease(store, { key: LEASE_KEY, holder: MAIN_HOLDER, durationMs: 600_000, nowMs: Date.now() });
  if (!lease.acquired) throw new Error('the lease is taken');
  const main = await open(fixture, store, strategy, 'main');
  main.leaseHolder = () => MAIN_HOLDER;
  const first = await main.maintain(client);
  if (first.published !== 'published') throw new Error(`main did not publish its keys: ${String(first.published)}`);
  const notifier = await open(fixture, store, strategy, 'notifier');
  notifier.leaseHolder = () => undefined;

  await claimOneTimeKeys(fixture, 30);
  await reportCounts(client, [main, notifier]);
  // Both react to the same count at once: each plans its upload before either answer comes back.
  await Promise.all([main.maintain(client), notifier.maintain(client)]);
  await maintainWhileDue(client, [main, notifier], 2);
  releaseLease(store, { key: LEASE_KEY, holder: MAIN_HOLDER, generation: lease.generation });

  await claimOneTimeKeys(fixture, 20);
  const sharing = await OlmMachineSender.create({
    userId: fixture.sender.userId,
    deviceId: 'SENDER',
    transport: { keysRequest: (endpoint, body) => fixture.sender.client.keysRequest(endpoint, body), sendToDevice: (type, txnId, messages) => fixture.sender.client.sendToDevice(type, txnId, messages) },
  });
  if (!sharing.ok) throw new Error(`the sender's OlmMachine: ${JSON.stringify(sharing.error)}`);
  try {
    const room = await fixture.sender.client.createRoom({ invite: [fixture.receiver.userId] });
    if (!room.ok) throw new Error('createRoom failed');
    const message = await sharing.value.encryptRoomMessage(room.value.roomId, fixture.receiver, 'm.room.message', { msgtype: 'm.text', body: 'after the overwrite' });
    if (!message.ok) throw new Error(`the room key was not shared: ${JSON.stringify(message.error)}`);

    const next = await open(fixture, store, strategy, 'notifier');
    const account = { homeserverUrl: fixture.url, userId: fixture.receiver.userId, deviceId: fixture.receiver.deviceId, accessToken: client.accessToken ?? '' };
    const { engine } = createProcessEngine({ store, account, processName: 'notifier', strategy, env: {}, olm: next.engineHooks(), tuning: { logEvents: false } });
    next.leaseHolder = () => engine.leaseHolder;
    const synced = await engine.syncUntilCaughtUp({ leaseWaitMs: 5000 });
    if (synced.kind !== 'caught-up') throw new Error(`the next notifier did not catch up: ${synced.kind}`);
    await maintainWhileDue(client, [next], 3);

    const roomKeyDecrypted = listInbox(store).some((row) => row.type === 'm.room_key' && row.encryption !== undefined && row.content.session_id === message.value.sessionId);
    return { olm: judgeOlm(store, new OlmFailureWatch(store), []), roomKeyDecrypted };
  } finally {
    sharing.value.close();
  }
}
