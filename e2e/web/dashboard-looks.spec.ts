/**
 * The dashboard's looks and its own behaviour, against the simulated backend (fast, the same every run): the
 * layout holds from 1280x720 to 1920x1080 with nothing leaving its panel and no figure that matters cut; a
 * suspended main lane, a released lease, pending on the server versus locally, and the figures of earlier runs
 * are each said for what they are; the reset control asks before it resets; and a page without the launch's
 * secret gets nothing. Screenshots go to the test's output folder (test-results/, not tracked).
 */
import type { Page } from '@playwright/test';
import type { DashboardSnapshot, RaceRow } from '../../src/shared/ui-api';
import { counter, pressControl, sendRoomMessage, sendToDevice } from '../support/dashboard';
import { expect, test, type FakeDashboard } from '../support/fake-dashboard';

const earlierRuns: NonNullable<DashboardSnapshot['earlierRuns']> = {
  counters: { sent: 123_456, received: 123_243, lost: 210, duplicated: 3, pendingOnServer: 0, pendingLocally: 0 },
  encryption: {
    roomKeys: 40, notificationsDecrypted: 5, notificationsUnableToDecrypt: 8, notificationsOther: 0,
    timelineEncrypted: 20, timelineAwaitingKey: 0, timelineUnableToDecrypt: 8, timelineLate: 3,
  },
};

function raceRow(strategy: RaceRow['strategy'], lost: number): RaceRow {
  return {
    strategy, sent: 123_456, delivered: 123_456 - lost, lost, duplicated: lost > 0 ? 49 : 0, reordered: 0, kills: 128, wastedRequests: 1234,
    latencyP50Ms: 12_345, latencyP99Ms: 123_456, notificationsUnableToDecrypt: lost > 0 ? 4 : 0, timelineUnableToDecrypt: lost > 0 ? 4 : 0,
    olmDecrypted: 1234, olmHarm: { failed: 0, undecryptableRedeliveries: lost > 0 ? 12 : 0, wedgedSessions: 0, oneTimeKeysUploadedTwice: 0, oneTimeKeysLost: 0 },
    mustBeSafe: strategy === 'explicit-cas' || strategy === 'explicit-lease', ok: true,
  };
}

/** A crowded situation: big figures, history, every kind of lane, a long homeserver URL, a finished race. */
async function crowd(page: Page, fake: FakeDashboard): Promise<void> {
  fake.backend.configure({
    homeserverUrl: 'https://matrix-client.homeserver.example.org:8448',
    dataDir: '/home/someone/.local/share/todevice/app',
    earlierRuns,
    laneAgeMs: 3 * 3600_000 + 7 * 60_000,
    race: {
      seed: 12_345, running: false, progress: null, error: null,
      rows: [raceRow('legacy', 40), raceRow('explicit-naive', 41), raceRow('explicit-cas', 0), raceRow('explicit-lease', 0)],
      reproduce: 'npx todevice race --strategy all --seed 12345 --messages 300 --senders 3 --kills 30 --duration 10',
    },
  });
  await sendToDevice(page, 9999);
  await sendRoomMessage(page, 'A message long enough to need the whole width of the timeline and then some more words to be cut');
  await sendRoomMessage(page, 'Its key withheld', { withholdKey: true });
  await sendRoomMessage(page, 'Killed before it finished');
  await pressControl(page, 'btn-kill-notifier');
  await pressControl(page, 'btn-restart-main');
  await pressControl(page, 'btn-suspend-main');
  await expect(page.getByTestId('lane-notifier')).toHaveCount(3);
}

/** The little of the DOM the layout probe uses (the e2e code is compiled without the DOM's types). */
interface ProbeElement {
  tagName: string;
  classList: Iterable<string>;
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
  getClientRects(): { length: number };
  getBoundingClientRect(): { left: number; right: number; width: number; height: number };
  querySelectorAll(selector: string): Iterable<ProbeElement>;
}
interface ProbeGlobal {
  innerWidth: number;
  document: { documentElement: { scrollWidth: number }; querySelectorAll(selector: string): Iterable<ProbeElement> };
  getComputedStyle(element: ProbeElement): { visibility: string; overflowX: string; lineHeight: string; fontSize: string };
}

/** Every way the layout can break that a reader notices; returns one line per problem. Runs in the page. */
function layoutProblems(): string[] {
  const page = globalThis as unknown as ProbeGlobal;
  const problems: string[] = [];
  const name = (el: ProbeElement): string => {
    const testId = el.dataset.testid;
    return testId ? `[data-testid=${testId}]` : `${el.tagName.toLowerCase()}${[...el.classList].map((c) => `.${c}`).join('')}`;
  };
  const visible = (el: ProbeElement): boolean => el.getClientRects().length > 0 && page.getComputedStyle(el).visibility !== 'hidden';
  if (page.document.documentElement.scrollWidth > page.innerWidth + 1) {
    problems.push(`the page scrolls sideways: ${page.document.documentElement.scrollWidth} px wide in a ${page.innerWidth} px window`);
  }
  // Nothing leaves its panel (or the top bar).
  for (const panel of page.document.querySelectorAll('.panel, .topbar')) {
    const box = panel.getBoundingClientRect();
    for (const el of panel.querySelectorAll('*')) {
      if (!visible(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1) {
        problems.push(`${name(el)} "${(el.textContent ?? '').slice(0, 40)}" leaves ${name(panel)}: [${Math.round(r.left)}, ${Math.round(r.right)}] outside [${Math.round(box.left)}, ${Math.round(box.right)}]`);
      }
    }
  }
  // Nothing needs sideways scrolling to be read.
  for (const el of page.document.querySelectorAll('body *')) {
    const overflowX = page.getComputedStyle(el).overflowX;
    if ((overflowX === 'auto' || overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
  }
  // The texts that matter are shown whole: not cut, not run into their neighbour.
  const whole = [
    '.meta dd', '.connection', '.counter .label', '.counter .value', '.counter .sub', '.run-since', '.earlier', '.lane-kind', '.lane-pid',
    '.lane-life', '.lane-stats', '.lane-state', '.facts dt', '.facts dd', '.token-history .when', '.chart-key span', '.chart-stats',
    '.panel-head h2', '.control-buttons button', '.action-status', '.race-status', 'table.race td', 'table.race th', '.badge', '.n-meta',
    '.t-time', '.cursor-chip', '.confirm p',
  ];
  for (const selector of whole) {
    for (const el of page.document.querySelectorAll(selector)) {
      if (!visible(el) || el.clientWidth === 0) continue;
      if (el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} (${selector}) is cut: "${el.textContent}" needs ${el.scrollWidth} px, has ${el.clientWidth} px`);
    }
  }
  // Figures and states that must stay on one line.
  for (const selector of ['.lane-life', '.lane-state', '.lane-stats', '.counter .value', '.meta dd', '.facts dt']) {
    for (const el of page.document.querySelectorAll(selector)) {
      if (!visible(el)) continue;
      const style = page.getComputedStyle(el);
      const lineHeight = Number.parseFloat(style.lineHeight) || Number.parseFloat(style.fontSize) * 1.4;
      if (el.getBoundingClientRect().height > lineHeight * 1.6) problems.push(`${name(el)} (${selector}) wraps: "${el.textContent}"`);
    }
  }
  // The time axes are labelled in whole seconds of the clock.
  for (const host of page.document.querySelectorAll('.chart-host')) {
    const ticks = (host.dataset.xTicks ?? '').split(' ').filter(Boolean);
    if (ticks.length === 0) problems.push(`${name(host)} drew no time axis labels`);
    for (const tick of ticks) if (!/^\d\d:\d\d:\d\d$/.test(tick)) problems.push(`${name(host)} has a time axis label "${tick}"`);
  }
  return problems;
}

for (const size of [{ width: 1280, height: 720 }, { width: 1280, height: 800 }, { width: 1920, height: 1080 }]) {
  test(`layout: at ${size.width}x${size.height} nothing leaves its panel and no figure that matters is cut`, async ({ page, fake }, testInfo) => {
    // A full-page screenshot of a crowded dashboard takes a while on a busy machine.
    test.setTimeout(150_000);
    await page.setViewportSize(size);
    await crowd(page, fake);
    // Let the charts resize to the new width and draw a few samples.
    await expect(page.getByTestId('chart-counts')).toHaveAttribute('data-x-ticks', /\d/);
    await expect.poll(() => page.evaluate(layoutProblems), { timeout: 10_000 }).toEqual([]);
    await page.screenshot({ path: testInfo.outputPath(`dashboard-${size.width}x${size.height}.png`), fullPage: true });
  });
}

test('dashboard: a suspended main lane says suspended, in the warning colour, and running again once resumed', async ({ page, fake }) => {
  fake.log('suspending the simulated main process');
  const main = page.getByTestId('lane-main').first();
  await expect(main).toHaveAttribute('data-state', 'running');
  await pressControl(page, 'btn-suspend-main');
  await expect(main).toHaveAttribute('data-state', 'suspended');
  await expect(main.getByTestId('lane-state')).toHaveText('suspended (SIGSTOP)');
  await expect(main.getByTestId('lane-state'), 'not the "running" green').not.toHaveCSS('color', 'rgb(63, 185, 80)');
  await expect(main.getByTestId('lane-state')).toHaveCSS('color', 'rgb(210, 153, 34)');
  await pressControl(page, 'btn-suspend-main');
  await expect(main.getByTestId('lane-state')).toHaveText('running');
});

test('dashboard: a released lease reads "released by" its last holder, not "lapsed … ago"', async ({ page, fake }) => {
  fake.backend.configure({ leaseReleasedBy: 'main:4242' });
  await expect(page.getByTestId('lease-expiry')).toHaveText('released by main:4242');
  await expect(page.getByTestId('lease-expiry')).toHaveAttribute('data-state', 'released');
  await expect(page.getByTestId('lease-holder')).toHaveText('nobody');
  fake.backend.configure({ leaseReleasedBy: null });
  await expect(page.getByTestId('lease-expiry')).toHaveText(/^in \d/);
});

test('dashboard: messages pending on the server and pending locally are separate figures', async ({ page, fake }) => {
  fake.backend.configure({ counters: { sent: 30, received: 10, pendingOnServer: 12, pendingLocally: 8 } });
  await expect(counter(page, 'pending-server')).toHaveAttribute('data-value', '12');
  await expect(counter(page, 'pending-local')).toHaveAttribute('data-value', '8');
  await expect(page.locator('.counter[data-kind="pendingLocally"] .label')).toHaveText('pending locally');
  // On its way is normal: the in-flight colour, not the warning one.
  await expect(counter(page, 'pending-local').locator('..')).toHaveAttribute('data-status', 'flight');
});

test('dashboard: what earlier runs left is shown apart and labelled; this run\'s tiles, lists and counters agree', async ({ page, fake }) => {
  fake.backend.configure({ earlierRuns });
  const line = page.getByTestId('earlier-delivery');
  await expect(line).toBeVisible();
  await expect(line).toContainText('Earlier runs in this data directory, not counted above');
  await expect(line.locator('b.bad')).toContainText(['210 lost', '3 duplicated']);
  await expect(page.getByTestId('earlier-encryption')).toContainText('13 notifications');
  await expect(page.getByTestId('earlier-notifications')).toContainText('13 notifications of earlier runs are not listed');
  await expect(page.getByTestId('run-since')).toHaveText(/^this run · since \d\d:\d\d:\d\d$/);
  // This run's own tiles know nothing of it.
  await expect(counter(page, 'lost')).toHaveAttribute('data-value', '0');
  await expect(counter(page, 'notifications-unable-to-decrypt')).toHaveAttribute('data-value', '0');
  await expect(page.getByTestId('notification-item')).toHaveCount(0);
  await sendRoomMessage(page, 'this run');
  await expect(page.getByTestId('notification-item')).toHaveCount(1);
  await expect(counter(page, 'notifications-decrypted')).toHaveAttribute('data-value', '1');
  await expect(page.getByTestId('notifications-summary')).toHaveText(/^1: 1 decrypted · 0 unable to decrypt$/);
});

test('dashboard: the reset control names the data directory and asks before it resets', async ({ page, fake }) => {
  fake.backend.configure({ earlierRuns, dataDir: '/tmp/todevice-looks' });
  const confirm = page.getByTestId('reset-confirm');
  await expect(confirm).toBeHidden();
  await page.getByTestId('btn-reset').click();
  await expect(confirm).toBeVisible();
  await expect(page.getByTestId('reset-data-dir')).toHaveText('/tmp/todevice-looks');
  await page.getByTestId('btn-reset-cancel').click();
  await expect(confirm).toBeHidden();
  await expect(page.getByTestId('earlier-delivery')).toBeVisible();
  await page.getByTestId('btn-reset').click();
  await page.getByTestId('btn-reset-confirm').click();
  await expect(page.getByTestId('action-status')).toHaveAttribute('data-state', 'ok');
  await expect(page.getByTestId('action-status')).toContainText('reset /tmp/todevice-looks');
  await expect(page.getByTestId('earlier-delivery')).toBeHidden();
});

test('bridge: a page opened without the launch secret gets no data and says which URL to open', async ({ browser, fake }) => {
  const stranger = await browser.newPage();
  try {
    await stranger.goto(fake.bridge.url);
    await expect(stranger.getByTestId('connection')).toHaveAttribute('data-state', 'unauthorized');
    await expect(stranger.getByTestId('connection')).toContainText('open the URL todevice printed');
    await expect(stranger.getByTestId('meta-user')).toHaveText('—');
    await stranger.getByTestId('btn-kill-notifier').click();
    await expect(stranger.getByTestId('action-status')).toHaveAttribute('data-state', 'error');
    await expect(stranger.getByTestId('action-status')).toContainText('unauthorized');
  } finally {
    await stranger.close();
  }
});

test('bridge: the secret leaves the address bar at once and survives a reload of the tab', async ({ page, fake }) => {
  expect(page.url()).toBe(`${fake.bridge.url}/`);
  expect(new URL(page.url()).hash).toBe('');
  await page.reload();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('meta-user')).toHaveText('@demo:localhost');
});
