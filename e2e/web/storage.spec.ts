/**
 * The Storage panel shows the store's size and what compaction removed: once main and a notifier run have both
 * passed the rows, the inbox keeps only its newest rows and the panel counts the rest as deleted.
 */
import { expect, test } from '../support/fixtures';
import { expectAllDelivered, notificationFor, sendRoomMessage, sendToDevice } from '../support/dashboard';

test('storage: after main and a notifier passed 300 rows, the panel shows the store size and the rows compaction deleted', async ({ page, app }) => {
  await sendToDevice(page, 300);
  await expectAllDelivered(page);
  // A push starts a notifier, whose cursor then passes every row too.
  const sent = await sendRoomMessage(page, 'storage e2e');
  await expect(notificationFor(page, sent.eventId)).toHaveCount(1, { timeout: 45_000 });
  const deleted = page.getByTestId('storage-inbox-deleted');
  await expect.poll(async () => Number(await deleted.getAttribute('data-value')), { timeout: 30_000 }).toBeGreaterThanOrEqual(100);
  expect(Number(await page.getByTestId('storage-size').getAttribute('data-value'))).toBeGreaterThan(0);
  await expect(page.getByTestId('storage-vacuum')).toHaveText(/^incremental, /);
  await expect(page.getByTestId('storage-notifier-skipped')).toHaveText('0');
  await expect(page.getByTestId('storage-rows')).toHaveText(/^rows: inbox \d+ · handled /);
  await expect(page.getByTestId('storage-last-compaction')).not.toHaveText('never');
  app.log('scenario done: storage panel');
});
