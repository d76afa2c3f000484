/**
 * The default strategy delivers everything exactly once, as the dashboard shows it.
 */
import { counter, expectAllDelivered, sendToDevice } from '../support/dashboard';
import { expect, test } from '../support/fixtures';

test('dashboard: 200 to-device messages arrive, 200 received, 0 lost, 0 duplicated', async ({ page, app }) => {
  await sendToDevice(page, 200);
  await expect(counter(page, 'sent')).toHaveAttribute('data-value', '200');
  await expectAllDelivered(page);
  await expect(counter(page, 'received')).toHaveText('200');
  await expect(counter(page, 'lost')).toHaveText('0');
  await expect(counter(page, 'duplicated')).toHaveText('0');
  await expect(page.getByTestId('token-since')).not.toHaveText(/none yet/);
  await expect(page.getByTestId('lease-holder')).not.toHaveText('');
  await expect(page.getByTestId('lane-main')).toHaveCount(1);
  app.log('scenario done: 200 delivered');
});
