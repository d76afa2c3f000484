/**
 * Killing the main sync process (SIGKILL, no clean-up) and starting it again resumes from the stored token and
 * cursor: nothing lost, nothing handled twice.
 */
import { expectAllDelivered, pressControl, readCounter, sendToDevice } from '../support/dashboard';
import { expect, test } from '../support/fixtures';

test('main: kill and restart mid-stream resumes with nothing lost or repeated', async ({ page, app }) => {
  await sendToDevice(page, 1000);
  // Restart while the backlog is being drained, so the kill lands between batches or inside one.
  await expect.poll(() => readCounter(page, 'received'), { timeout: 30_000 }).toBeGreaterThan(0);
  const restarted = (await pressControl(page, 'btn-restart-main')) as { oldPid: number; newPid: number };
  app.log(`restarted main: ${JSON.stringify(restarted)}`);
  expect(restarted.newPid).not.toBe(restarted.oldPid);
  await expect(page.locator(`[data-testid="lane-main"][data-pid="${restarted.oldPid}"]`)).toHaveAttribute('data-state', 'killed');
  await expect(page.locator(`[data-testid="lane-main"][data-pid="${restarted.newPid}"]`)).toHaveAttribute('data-state', 'running');
  await sendToDevice(page, 200);
  await expectAllDelivered(page);
  await expect(page.getByTestId('counter-sent')).toHaveAttribute('data-value', '1200');
});
