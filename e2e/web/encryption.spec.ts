/**
 * Encrypted room messages end to end: the demo sender's messages are Megolm `m.room.encrypted` events whose
 * room key goes first as a to-device message. A notifier decrypts the pushed event and shows its plaintext, or
 * says plainly that it cannot; the main process decrypts its timeline with every key any process committed to
 * the shared store, including one whose notifier died before showing anything.
 */
import type { DashboardSnapshot } from '../../src/shared/ui-api';
import { counter, expectAllDelivered, notificationFor, pressControl, sendRoomMessage, timelineEntryFor } from '../support/dashboard';
import { expect, test, type AppUnderTest } from '../support/fixtures';
import { fetchEventAsDevice } from '../support/homeserver-view';
import { suspendMainOutsideWriteLock } from '../support/suspend-main';

const pushTimeoutMs = 30_000;

test('encryption: a push for an encrypted message shows its plaintext, the timeline decrypts it, and the wire carries only ciphertext', async ({ page, app }) => {
  const text = `encrypted e2e ${Date.now()}`;
  const sent = await sendRoomMessage(page, text);
  expect(sent.keyTag, 'the room key was shared by to-device').not.toBeNull();

  const notification = notificationFor(page, sent.eventId);
  await expect(notification).toHaveCount(1, { timeout: pushTimeoutMs });
  await expect(notification).toHaveAttribute('data-outcome', 'decrypted');
  await expect(notification.getByTestId('notification-body')).toHaveText(text);

  const entry = timelineEntryFor(page, sent.eventId);
  await expect(entry).toHaveAttribute('data-state', 'decrypted', { timeout: pushTimeoutMs });
  await expect(entry.getByTestId('timeline-body')).toHaveText(text);
  await expect(counter(page, 'notifications-decrypted')).toHaveAttribute('data-value', '1');
  await expect(counter(page, 'timeline-encrypted')).toHaveAttribute('data-value', '1');
  await expect(counter(page, 'timeline-unable-to-decrypt')).toHaveAttribute('data-value', '0');
  // The device published its Olm keys at start (one set of 50), and no Olm decryption failed.
  await expect(counter(page, 'olm-one-time-keys')).toHaveAttribute('data-value', '50');
  // A key from a sender device the app has not queried yet waits as `unknown-device` until /keys/query teaches
  // it the device, then decrypts; no other reason may appear.
  await expect(page.getByTestId('counter-olm-failure-reasons')).toHaveText(/^(unknown-device \d+)?$/);
  await expect(counter(page, 'olm-wedged')).toHaveAttribute('data-value', '0');

  // What the homeserver stores and serves is Megolm ciphertext of the session whose key went by to-device.
  const onTheWire = await fetchEventAsDevice(app.dataDir, sent.eventId);
  app.log(`event on the wire: ${JSON.stringify(onTheWire)}`);
  expect(onTheWire.type).toBe('m.room.encrypted');
  expect(onTheWire.content).toMatchObject({ algorithm: 'm.megolm.v1.aes-sha2', session_id: sent.sessionId });
  expect(typeof onTheWire.content.ciphertext).toBe('string');
  expect(JSON.stringify(onTheWire)).not.toContain(text);
});

test('encryption: with no fault, a stream of encrypted messages decrypts with no "late" badge and no warning colour anywhere', async ({ page, app }) => {
  test.setTimeout(150_000);
  // The ambient traffic of `npm start`, which the host sends itself: a few to-device messages and right after
  // them a room message whose key goes first. The to-device burst starts a timeline pass that is still paging
  // when the room message and its key arrive, which is what made every such message "late" before.
  const sent: string[] = [];
  for (let i = 0; i < 8; i += 1) {
    expect((await app.backend['traffic:send-to-device']({ count: 3 })).ok).toBe(true);
    const message = await app.backend['traffic:send-room-message']({ text: `no-fault ${i} ${Date.now()}` });
    if (!message.ok) throw new Error(message.error.message);
    sent.push(message.value.eventId);
    await expect(timelineEntryFor(page, message.value.eventId)).toHaveAttribute('data-state', 'decrypted', { timeout: pushTimeoutMs });
  }
  app.log(`sent ${sent.join(', ')}`);
  await expect(page.getByTestId('notification-item')).toHaveCount(sent.length, { timeout: pushTimeoutMs });
  await expectAllDelivered(page);
  for (const eventId of sent) await expect(timelineEntryFor(page, eventId)).toHaveAttribute('data-late', 'false');
  await expect(page.getByTestId('timeline-late')).toHaveCount(0);
  await expect(counter(page, 'timeline-late')).toHaveAttribute('data-value', '0');
  await expect(counter(page, 'notifications-decrypted')).toHaveAttribute('data-value', String(sent.length));
  // Nothing drawn in the warning or failure colours: no tile, badge, lane or lease state.
  await expect(page.locator('[data-status="busy"], [data-status="bad"]')).toHaveCount(0);
  await expect(page.locator('.badge-late, .badge-unable-to-decrypt, .state-failed, .state-killed, .state-suspended')).toHaveCount(0);
  await expect(page.getByTestId('lease-expiry')).not.toHaveAttribute('data-state', 'lapsed');
});

test('encryption: with its room key withheld, the notification and the timeline say the message cannot be decrypted', async ({ page, app }) => {
  const text = `withheld e2e ${Date.now()}`;
  const sent = await sendRoomMessage(page, text, { withholdKey: true });
  app.log(`sent ${sent.eventId} in session ${sent.sessionId} with its key withheld`);
  expect(sent.keyTag, 'no room key was sent').toBeNull();

  const notification = notificationFor(page, sent.eventId);
  await expect(notification).toHaveCount(1, { timeout: pushTimeoutMs });
  await expect(notification).toHaveAttribute('data-outcome', 'unable-to-decrypt');
  await expect(notification.getByTestId('notification-body')).toHaveText(/unable to decrypt/i);
  await expect(notification).not.toContainText(text);

  const entry = timelineEntryFor(page, sent.eventId);
  await expect(entry).toHaveAttribute('data-state', 'unable-to-decrypt', { timeout: pushTimeoutMs });
  await expect(entry.getByTestId('timeline-body')).toHaveText(/unable to decrypt/i);
  await expect(entry).not.toContainText(text);

  await expect(counter(page, 'notifications-unable-to-decrypt')).toHaveAttribute('data-value', '1');
  await expect(counter(page, 'timeline-unable-to-decrypt')).toHaveAttribute('data-value', '1');
  await expect(counter(page, 'notifications-decrypted')).toHaveAttribute('data-value', '0');
  await expect(counter(page, 'room-keys')).toHaveAttribute('data-value', '0');
  // The harm is marked like a lost message.
  await expect(counter(page, 'notifications-unable-to-decrypt').locator('..')).toHaveAttribute('data-status', 'bad');
  await expect(counter(page, 'timeline-unable-to-decrypt').locator('..')).toHaveAttribute('data-status', 'bad');
});

test.describe('with every notifier armed to die after its commit, before it displays anything', () => {
  test.use({ notifierEnv: { TODEVICE_KILL_AT: 'notifier-before-display', TODEVICE_KILL_PROCESS: 'notifier' } });

  test('encryption: killing the notifier after it committed the room key, before it displayed anything, still lets the main process decrypt', async ({ page, app }) => {
    // With main suspended (SIGSTOP, like an app in the background) the notifier is the process that syncs, so the
    // room key is committed by the notifier and by nobody else.
    await suspendMainOutsideWriteLock(page, app.dataDir, app.log);
    const text = `killed notifier e2e ${Date.now()}`;
    const sent = await sendRoomMessage(page, text);

    const lane = page.getByTestId('lane-notifier');
    await expect(lane).toHaveCount(1, { timeout: pushTimeoutMs });
    await expect(lane).toHaveAttribute('data-state', 'killed', { timeout: pushTimeoutMs });
    await expect(lane).toHaveAttribute('data-signal', 'SIGKILL');

    // Before main runs again: the notifier fetched the key-sharing event, consumed it and stored its key.
    const before = await snapshotOf(app);
    const keyRow = before.inbox.latest.find((row) => row.tag === sent.keyTag);
    app.log(`key row ${JSON.stringify(keyRow)}, cursors ${JSON.stringify(before.cursors)}`);
    expect(keyRow).toMatchObject({ type: 'm.room_key', fetchedBy: 'notifier' });
    const notifierCursor = before.cursors.find((cursor) => cursor.consumer === 'notifier');
    expect(notifierCursor?.seq ?? 0).toBeGreaterThanOrEqual(keyRow?.seq ?? Infinity);
    expect(before.encryption.roomKeys, 'the key is in the shared store while main is stopped').toBe(1);
    expect(before.notifications).toEqual([]);

    await pressControl(page, 'btn-suspend-main'); // resume
    const entry = timelineEntryFor(page, sent.eventId);
    await expect(entry).toHaveAttribute('data-state', 'decrypted', { timeout: pushTimeoutMs });
    await expect(entry.getByTestId('timeline-body')).toHaveText(text);
    await expect(counter(page, 'timeline-unable-to-decrypt')).toHaveAttribute('data-value', '0');

    // The killed notifier showed nothing, and said so nowhere.
    await expect(notificationFor(page, sent.eventId)).toHaveCount(0);
    await expect(counter(page, 'notifications-decrypted')).toHaveAttribute('data-value', '0');
    await expect(counter(page, 'notifications-unable-to-decrypt')).toHaveAttribute('data-value', '0');
    // And the key-sharing message itself reached the main consumer exactly once.
    await expectAllDelivered(page);
  });
});

async function snapshotOf(app: AppUnderTest): Promise<DashboardSnapshot> {
  const result = await app.backend['snapshot:get']({});
  if (!result.ok) throw new Error(`snapshot:get failed: ${result.error.message}`);
  return result.value;
}
