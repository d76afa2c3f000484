/**
 * The push race of a suspended app (F1), shown on the dashboard. The main sync process is suspended (SIGSTOP),
 * as a phone suspends its app in the background; messages and two pushes arrive; each push's notifier syncs
 * alone; then the app resumes. Under `legacy` the notifier's implicit acknowledgement deletes what the main process never saw,
 * and the dashboard shows the loss in red. Under the default `explicit-lease` the notifier commits what it
 * fetched to the shared inbox (taking the lease once the stopped holder's lapses), and nothing is lost.
 */
import { counter, expectAllDelivered, pressControl, readCounter, sendRoomMessage, sendToDevice } from '../support/dashboard';
import type { Page } from '@playwright/test';
import { expect, test, type AppUnderTest } from '../support/fixtures';
import { suspendMainOutsideWriteLock } from '../support/suspend-main';

async function suspendedAppRace(page: Page, app: AppUnderTest): Promise<void> {
  await sendToDevice(page, 5);
  await expect(counter(page, 'received')).toHaveAttribute('data-value', '5', { timeout: 30_000 });
  await suspendMainOutsideWriteLock(page, app.dataDir, app.log);
  await expect(page.getByTestId('btn-suspend-main')).toHaveAttribute('aria-pressed', 'true');
  await sendToDevice(page, 40);
  // Two pushes while main is stopped, each starting a notifier. A legacy notifier acknowledges implicitly with the
  // token its previous run stored, so the second run deletes on the server what the first one fetched.
  for (const text of ['while the app sleeps', 'and again']) {
    await sendRoomMessage(page, text);
    // The notification shows the to-device payload the notifier fetched itself.
    await expect(page.getByTestId('notification-item').first()).toContainText(text, { timeout: 30_000 });
  }
  app.log(`resume: ${JSON.stringify(await pressControl(page, 'btn-suspend-main'))}`);
  await expect(page.getByTestId('btn-suspend-main')).toHaveAttribute('aria-pressed', 'false');
}

test('legacy: a notifier running while the app is suspended acknowledges messages the app never sees (F1)', async ({ page, app }) => {
  await page.getByTestId('select-strategy').selectOption('legacy');
  await expect(page.getByTestId('meta-strategy')).toHaveText('legacy');
  await suspendedAppRace(page, app);
  await expect(counter(page, 'pending-server')).toHaveAttribute('data-value', '0', { timeout: 30_000 });
  await expect(counter(page, 'pending-local')).toHaveAttribute('data-value', '0', { timeout: 30_000 });
  await expect.poll(() => readCounter(page, 'lost'), { timeout: 10_000 }).toBeGreaterThan(0);
  await expect(counter(page, 'lost').locator('..')).toHaveAttribute('data-status', 'bad');
});

test('explicit-lease: the same suspended-app race loses nothing', async ({ page, app }) => {
  await expect(page.getByTestId('meta-strategy')).toHaveText('explicit-lease');
  await suspendedAppRace(page, app);
  await expectAllDelivered(page);
});
