/**
 * Pushes start notifier processes of their own, which build their notification from to-device data; killing one
 * while it syncs loses nothing.
 */
import { expectAllDelivered, pressControl, sendRoomMessage, sendToDevice } from '../support/dashboard';
import { appDevice } from '../support/app-device';
import { expect, test } from '../support/fixtures';
import { suspendMainOutsideWriteLock } from '../support/suspend-main';

test('notifier: a push starts a notifier with its own PID, whose notification is built from its to-device data', async ({ page, app }) => {
  // The room event carries this text only as Megolm ciphertext; the notifier can show it only with the room key
  // it syncs by to-device.
  const text = `e2e payload ${Date.now()}`;
  await sendRoomMessage(page, text);
  const item = page.getByTestId('notification-item').filter({ hasText: text });
  await expect(item).toHaveCount(1, { timeout: 30_000 });
  await expect(item).toHaveAttribute('data-data-missing', 'false');
  await expect(item).toHaveAttribute('data-outcome', 'decrypted');
  const notifierPid = await item.getAttribute('data-pid');
  const mainPid = await page.getByTestId('lane-main').first().getAttribute('data-pid');
  expect(Number(notifierPid)).toBeGreaterThan(0);
  expect(notifierPid).not.toBe(mainPid);
  await expect(page.locator(`[data-testid="lane-notifier"][data-pid="${notifierPid}"]`)).toHaveCount(1);
  app.log(`notification from notifier pid ${notifierPid}, main pid ${mainPid}`);
  await expectAllDelivered(page);
});

test('notifier: killing a running notifier while the app is suspended loses nothing', async ({ page, appOnKit, homeserver }) => {
  // With main suspended the notifier is the process that has to sync: it overtakes the stopped holder's lease and
  // drains the backlog. Killing it in that run must leave every message for the next process. Its first sync
  // response is held back (a fault armed on the kit's homeserver, after the backlog was sent, so the stopped main's
  // woken long poll has already had its answer), so the notifier is still running when the kill lands, however
  // fast it starts.
  await suspendMainOutsideWriteLock(page, appOnKit.dataDir, appOnKit.log);
  await sendToDevice(page, 200);
  await homeserver.faults.delayResponses(appDevice(appOnKit.dataDir), 10_000, { count: 1 });
  await sendRoomMessage(page, 'kill this notifier');
  const running = page.locator('[data-testid="lane-notifier"][data-state="running"]');
  await running.first().waitFor({ timeout: 15_000 });
  const result = (await pressControl(page, 'btn-kill-notifier')) as { killedPid: number | null };
  appOnKit.log(`killed notifier ${result.killedPid}`);
  expect(result.killedPid).not.toBeNull();
  await expect(page.locator(`[data-testid="lane-notifier"][data-pid="${result.killedPid}"]`)).toHaveAttribute('data-state', 'killed');
  await pressControl(page, 'btn-suspend-main');
  await expectAllDelivered(page);
});
