/**
 * Takes the README's picture of the dashboard (docs/dashboard.png, 1400x900) after real traffic has flowed:
 * messages, encrypted pushes with their notifiers and the main timeline decrypting them, a dropped response and
 * a main restart. It drives the real app, so the picture stays true to the product, but it writes a tracked
 * file, so it runs only on request: `npm run screenshot` (scripts/readme-screenshot.mjs), never in `npm test`.
 */
import path from 'node:path';
import { expectAllDelivered, pressControl, sendRoomMessage, sendToDevice } from '../support/dashboard';
import { expect, test } from '../support/fixtures';

const screenshotFile = path.resolve(import.meta.dirname, '../../docs/dashboard.png');

test('readme: screenshot of the dashboard after traffic', async ({ page, app }) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1400, height: 900 });
  await sendToDevice(page, 300);
  await sendRoomMessage(page, 'Lunch at noon?');
  await pressControl(page, 'btn-drop-response');
  await sendToDevice(page, 200);
  await expect(page.getByTestId('notification-item')).toHaveCount(1, { timeout: 30_000 });
  await pressControl(page, 'btn-restart-main');
  await sendToDevice(page, 250);
  await sendRoomMessage(page, 'The keys arrived first.');
  await expect(page.getByTestId('notification-item')).toHaveCount(2, { timeout: 30_000 });
  await expect(page.locator('[data-testid="timeline-item"][data-state="decrypted"]')).toHaveCount(2, { timeout: 30_000 });
  await expectAllDelivered(page);
  await page.screenshot({ path: screenshotFile });
  app.log(`saved ${screenshotFile}`);
});
