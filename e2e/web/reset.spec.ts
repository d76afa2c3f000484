/**
 * The dashboard's "Reset data directory" control on the real app: after the user confirms, the store and the
 * homeserver's database are deleted and the app starts again on the empty directory, the same page still live:
 * this run's figures start from zero and nothing is left over as "earlier runs".
 */
import fs from 'node:fs';
import path from 'node:path';
import { counter, expectAllDelivered, sendToDevice } from '../support/dashboard';
import { expect, test } from '../support/fixtures';

test('reset: the dashboard empties the data directory after the user confirms, and the app starts again on it', async ({ page, app }) => {
  await sendToDevice(page, 20);
  await expectAllDelivered(page);
  const before = await page.getByTestId('meta-homeserver').innerText();
  const userFile = path.join(app.dataDir, 'notes.txt');
  fs.writeFileSync(userFile, 'not todevice\'s');

  await page.getByTestId('btn-reset').click();
  await expect(page.getByTestId('reset-data-dir')).toHaveText(app.dataDir);
  await page.getByTestId('btn-reset-confirm').click();
  await expect(page.getByTestId('action-status')).toHaveAttribute('data-state', 'ok', { timeout: 60_000 });
  app.log(`reset: ${await page.getByTestId('action-status').innerText()}`);
  await expect(page.getByTestId('action-status')).toContainText('client.db');

  await expect(counter(page, 'sent')).toHaveAttribute('data-value', '0');
  await expect(counter(page, 'received')).toHaveAttribute('data-value', '0');
  await expect(page.getByTestId('earlier-delivery')).toBeHidden();
  await expect(page.getByTestId('meta-homeserver')).not.toHaveText(before);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
  expect(fs.readFileSync(userFile, 'utf8'), 'only todevice\'s own files are deleted').toBe('not todevice\'s');

  await sendToDevice(page, 5);
  await expectAllDelivered(page);
  await expect(counter(page, 'sent')).toHaveAttribute('data-value', '5');
});
