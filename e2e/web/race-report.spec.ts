/**
 * The race report's HTML page (src/harness/report-html.ts) in a browser, at the two window sizes the dashboard
 * holds: nothing runs off the right edge or is cut, the strategies are a real table, and the report's colours
 * mean what the dashboard's do. Screenshots go to the test's output folder (test-results/).
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'todevice/playwright';
import { renderReportHtml } from '../../src/harness/report-html';
import { sampleRaceReport } from '../../test/support/sample-race-report';

interface ProbeElement {
  tagName: string;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
  getClientRects(): { length: number };
  getBoundingClientRect(): { left: number; right: number; width: number };
}
interface ProbeGlobal {
  innerWidth: number;
  document: { documentElement: { scrollWidth: number }; querySelectorAll(selector: string): Iterable<ProbeElement> };
}

/** What would make the page hard to read: something past the right edge, or text cut in its box. Runs in the page. */
function reportProblems(): string[] {
  const page = globalThis as unknown as ProbeGlobal;
  const problems: string[] = [];
  if (page.document.documentElement.scrollWidth > page.innerWidth + 1) problems.push(`the page is ${page.document.documentElement.scrollWidth} px wide in a ${page.innerWidth} px window`);
  for (const el of page.document.querySelectorAll('body *')) {
    if (el.getClientRects().length === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > page.innerWidth + 1) problems.push(`${el.tagName.toLowerCase()} "${(el.textContent ?? '').slice(0, 40)}" ends at ${Math.round(r.right)} px`);
  }
  for (const el of page.document.querySelectorAll('td, th, li, p, pre, summary, figcaption, h1, h2, h3')) {
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) problems.push(`${el.tagName.toLowerCase()} "${(el.textContent ?? '').slice(0, 40)}" is cut (${el.scrollWidth} > ${el.clientWidth})`);
  }
  return problems;
}

for (const size of [{ width: 1280, height: 720 }, { width: 1920, height: 1080 }]) {
  test(`race report: at ${size.width}x${size.height} the page fits the window and nothing is cut`, async ({ page }, testInfo) => {
    const file = testInfo.outputPath('report.html');
    fs.mkdirSync(testInfo.outputDir, { recursive: true });
    fs.writeFileSync(file, renderReportHtml(sampleRaceReport()));
    await page.setViewportSize(size);
    await page.goto(pathToFileURL(file).href);
    await page.locator('details').first().evaluate((el) => el.setAttribute('open', ''));
    expect(await page.evaluate(reportProblems)).toEqual([]);
    // Green is as it should be, red is harm: the losses of legacy are red, explicit-lease's zero green, and the
    // slowest p99 (explicit-lease's) is drawn in the plain colour, not green.
    const lostRow = page.locator('table.figures tr', { has: page.locator('th', { hasText: /^lost$/ }) });
    await expect(lostRow.locator('td').nth(0)).toHaveCSS('color', 'rgb(207, 34, 46)');
    await expect(lostRow.locator('td').nth(3)).toHaveCSS('color', 'rgb(26, 127, 55)');
    await expect(page.locator('table[aria-label^="latency"] .fill').last()).toHaveCSS('background-color', 'rgb(9, 105, 218)');
    await page.screenshot({ path: testInfo.outputPath(`race-report-${size.width}x${size.height}.png`), fullPage: true });
  });
}
