/**
 * The race harness from the dashboard: one seed, the four strategies side by side. The strategies that must be
 * safe show no loss, duplicate or reordering, and no Olm harm; the run's rows and its reproduce command appear without a reload.
 */
import { expect, test } from '../support/fixtures';

test('race: the dashboard runs all four strategies with one seed and shows them side by side', async ({ page, app }) => {
  test.setTimeout(240_000);
  await page.getByTestId('input-race-seed').fill('7');
  await page.getByTestId('btn-race').click();
  await expect(page.getByTestId('race-status')).toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('race-status')).toHaveAttribute('data-state', 'done', { timeout: 200_000 });
  app.log(`race: ${await page.getByTestId('race-status').innerText()}`);
  const rows = page.getByTestId('race-row');
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(0)).toHaveAttribute('data-strategy', 'legacy');
  await expect(rows.nth(0)).toHaveAttribute('data-verdict', 'expected');
  for (const strategy of ['explicit-cas', 'explicit-lease']) {
    const row = page.locator(`[data-testid="race-row"][data-strategy="${strategy}"]`);
    await expect(row).toHaveAttribute('data-verdict', 'ok');
    await expect(row).toHaveAttribute('data-lost', '0');
    await expect(row).toHaveAttribute('data-duplicated', '0');
    await expect(row).toHaveAttribute('data-timeline-unable-to-decrypt', '0');
    await expect(row).toHaveAttribute('data-olm-harm', '0');
  }
  await expect(page.getByTestId('race-status')).toContainText('todevice race');
});
