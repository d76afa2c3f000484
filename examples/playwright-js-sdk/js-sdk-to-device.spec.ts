/**
 * What matrix-js-sdk 37.5 does with to-device messages, under sliding sync and its `to_device` extension, when
 * its responses are dropped and when its page is reloaded mid-stream: the todevice Playwright kit sends tagged
 * messages, injects the faults, and judges the tags the page reports against what the server accepted and
 * deleted. The page (./app) is an ordinary web app on the SDK; it is bundled with esbuild and served by a small
 * static server on 127.0.0.1 (a page Chromium does not see on a loopback address may not call one).
 *
 * Every test waits for conditions (the page's sync state, the tags handled), never for fixed times. The SDK
 * waits 5 s before retrying a failed sync request, which is what makes these tests take a while.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from '@playwright/test';
import { expect, test, type KitDevice, type KitOracle, type Verdict } from 'todevice/playwright';

const appDir = fileURLToPath(new URL('./app/', import.meta.url));
let clientBundle = '';
/** Where the page is served: a static server on 127.0.0.1 (Chromium lets a loopback page call the loopback homeserver). */
let appServer: http.Server;
let appOrigin = '';

test.afterEach(async () => {
  const testInfo = test.info();
  const pageLog = testInfo.outputPath('page.log');
  if (testInfo.status !== testInfo.expectedStatus && fs.existsSync(pageLog)) await testInfo.attach('page.log', { path: pageLog, contentType: 'text/plain' });
});

test.beforeAll(async () => {
  const result = await build({
    entryPoints: [`${appDir}client.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'warning',
  });
  clientBundle = result.outputFiles[0]?.text ?? '';
  appServer = http.createServer((request, response) => {
    const isBundle = request.url === '/client.js';
    response.writeHead(200, { 'Content-Type': isBundle ? 'text/javascript' : 'text/html' });
    response.end(isBundle ? clientBundle : fs.readFileSync(`${appDir}index.html`, 'utf8'));
  });
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await new Promise((resolve) => appServer.close(resolve));
});

/**
 * Opens the app for `device`; every tag it reports through its asynchronous call, across reloads, is appended to
 * `handled` (what most apps' effects look like). `storedHandled` reads its synchronous record instead.
 */
async function openApp(page: Page, device: KitDevice, handled: string[]): Promise<void> {
  const pageLog = test.info().outputPath('page.log');
  fs.mkdirSync(path.dirname(pageLog), { recursive: true });
  page.on('console', (message) => fs.appendFileSync(pageLog, `[${message.type()}] ${message.text()}\n`));
  page.on('pageerror', (error) => fs.appendFileSync(pageLog, `[page error] ${error.stack ?? error.message}\n`));
  await page.exposeFunction('reportHandled', (tag: string) => void handled.push(tag));
  const config = { homeserverUrl: device.homeserverUrl, userId: device.userId, deviceId: device.deviceId, accessToken: device.accessToken };
  await page.addInitScript((given) => void Object.assign(globalThis, { exampleConfig: given }), config);
  await page.goto(`${appOrigin}/index.html`);
  await expectSyncing(page);
}

/** The tags the page's handler recorded synchronously (sessionStorage, which survives reloads of the tab). */
async function storedHandled(page: Page): Promise<string[]> {
  // The test file is compiled without DOM types; in the page, `globalThis.sessionStorage` is the tab's storage.
  return page.evaluate(() => {
    const storage = (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage;
    return JSON.parse(storage.getItem('handled') ?? '[]') as string[];
  });
}

async function expectSyncing(page: Page): Promise<void> {
  await expect(page.locator('#sync-state')).toHaveText(/PREPARED|SYNCING/);
}

/**
 * Waits for every accepted message, then for one more (a duplicate of anything before it would be in by then),
 * and judges the page's synchronous record; the asynchronous reports are judged too and recorded.
 */
async function finalVerdict(oracle: KitOracle, page: Page, send: () => Promise<string[]>, handled: string[]): Promise<Verdict> {
  const [last] = await send();
  await expect.poll(() => handled.includes(last ?? '')).toBe(true);
  const verdict = await oracle.waitForHandled(() => storedHandled(page));
  const reported = await oracle.judge(handled);
  test.info().annotations.push({ type: 'observed (handler, synchronous record)', description: verdict.message });
  test.info().annotations.push({ type: 'observed (asynchronous reports)', description: reported.message });
  console.log(`synchronous record: ${verdict.message}\nasynchronous reports: ${reported.message.split('\n')[0]}`);
  return verdict;
}

// Each test runs against todevice's own to-device extension and against Synapse's (`todevice serve --compat
// synapse`, which answers as Synapse does, its differences included).
for (const compat of ['todevice', 'synapse'] as const) {
  test.describe(`${compat} server`, () => {
    test.use({ homeserverOptions: { compat } });

    test('matrix-js-sdk, sliding sync: two dropped sync responses lose and duplicate nothing', async ({ page, accounts, sender, homeserver, oracle }) => {
      const { alice, bob } = await accounts.register({ alice: 'WEB', bob: 'SENDER' });
      const web = alice.device;
      const handled: string[] = [];
      await openApp(page, web, handled);
      await sender.toDevice(bob.device, web, { count: 10 });
      await expect.poll(() => handled.length).toBe(10);

      // The server processes the next two requests (each acknowledges its `since` and builds a response with the
      // messages queued then), then resets the connection instead of answering.
      await homeserver.faults.dropResponses(web, { count: 2 });
      await sender.toDevice(bob.device, web, { count: 20 });
      const verdict = await finalVerdict(oracle, page, () => sender.toDevice(bob.device, web), handled);
      expect(verdict.ok, verdict.message).toBe(true);
      expect((await homeserver.inspect(web)).queued).toEqual([]);
    });

    test('matrix-js-sdk, sliding sync: a page reload in the middle of a stream loses nothing', async ({ page, accounts, sender, oracle }) => {
      const { alice, bob } = await accounts.register({ alice: 'WEB', bob: 'SENDER' });
      const web = alice.device;
      const handled: string[] = [];
      await openApp(page, web, handled);
      const stream = sender.toDevice(bob.device, web, { count: 60 });
      await expect.poll(() => handled.length).toBeGreaterThanOrEqual(20);
      oracle.note(`page reload after ${handled.length} handled`);
      await page.reload();
      await expectSyncing(page);
      await stream;
      const verdict = await finalVerdict(oracle, page, () => sender.toDevice(bob.device, web), handled);
      // Whether a message handled just before the reload comes again depends on whether the SDK had sent its next
      // request (which acknowledges it) before the page went away: a reload has no `since` to resume from. The
      // SDK acknowledges without waiting for the app's handlers, so an asynchronous effect under way at the
      // reload can be lost (the asynchronous reports show it, and are recorded, not asserted).
      expect(verdict.lost, verdict.message).toEqual([]);
      expect(verdict.pending, verdict.message).toEqual([]);
      expect(verdict.reordered, verdict.message).toEqual([]);
    });

    test('matrix-js-sdk, sliding sync: messages handled but not yet acknowledged come again after a reload', async ({ page, accounts, sender, homeserver, oracle }) => {
      const { alice, bob } = await accounts.register({ alice: 'WEB', bob: 'SENDER' });
      const web = alice.device;
      const handled: string[] = [];
      await openApp(page, web, handled);
      // Once a long poll is in flight (accepted, waiting for a message), every request after it is answered 500
      // before the server looks at it, so the request that would acknowledge the next messages never lands.
      // Between two polls the SDK has none in flight; a fault installed then would fail the next poll itself.
      await expect.poll(async () => (await homeserver.inspect(web)).waitingPolls).toBeGreaterThan(0);
      await homeserver.faults.failRequests(web, 500, { count: 1000 });
      await sender.toDevice(bob.device, web, { count: 5 });
      await expect.poll(() => handled.length).toBeGreaterThan(0);
      await expect.poll(async () => (await storedHandled(page)).length).toBeGreaterThan(0);
      const beforeReload = await storedHandled(page);
      oracle.note(`page reload after ${beforeReload.length} handled, none acknowledged`);
      await page.reload();
      await homeserver.faults.clear();
      await expectSyncing(page);
      const verdict = await finalVerdict(oracle, page, () => sender.toDevice(bob.device, web), handled);
      expect(verdict.lost, verdict.message).toEqual([]);
      expect(verdict.reordered, verdict.message).toEqual([]);
      // The reloaded page has no `since`, so the server sends again everything it still holds.
      expect(verdict.duplicated.map((row) => row.tag), verdict.message).toEqual(beforeReload);
    });
  });
}
