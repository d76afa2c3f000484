/**
 * A minimal web app on matrix-js-sdk: it logs in with the credentials the page was given, starts the SDK's
 * sliding sync (whose `to_device` extension fetches to-device messages, as an app using sliding sync does),
 * and records every to-device message it handles twice: synchronously in sessionStorage and through an
 * asynchronous call to whoever opened the page. Nothing here knows about todevice.
 *
 * Runtime: browser (bundled by esbuild). The SDK keeps its to-device token (`since`) in memory, as it does in
 * any app that gives it a MemoryStore: a page reload starts again without one.
 */
import { ClientEvent, createClient, MemoryStore, type MatrixEvent } from 'matrix-js-sdk';
import { SlidingSync } from 'matrix-js-sdk/lib/sliding-sync.js';

interface ExampleConfig {
  homeserverUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
}

declare global {
  interface Window {
    /** Set by whoever opens the page (the Playwright test, with `page.addInitScript`). */
    exampleConfig?: ExampleConfig;
    /** Called for each to-device message handled, when the opener provides it (the test, with `page.exposeFunction`). */
    reportHandled?: (tag: string) => Promise<void>;
  }
}

async function main(): Promise<void> {
  const config = window.exampleConfig;
  if (config === undefined) throw new Error('no window.exampleConfig: open this page with credentials');
  const client = createClient({
    baseUrl: config.homeserverUrl,
    userId: config.userId,
    deviceId: config.deviceId,
    accessToken: config.accessToken,
    useAuthorizationHeader: true,
    store: new MemoryStore(),
  });
  const list = document.getElementById('handled');
  const syncState = document.getElementById('sync-state');
  client.on(ClientEvent.Sync, (state) => {
    if (syncState !== null) syncState.textContent = state;
  });
  client.on(ClientEvent.ToDeviceEvent, (event: MatrixEvent) => {
    const tag = event.getContent<{ tag?: unknown }>().tag;
    if (typeof tag !== 'string') return;
    const item = document.createElement('li');
    item.textContent = `${event.getType()} ${tag}`;
    item.dataset.tag = tag;
    list?.append(item);
    // Synchronously, before the SDK goes on (and acknowledges the batch with its next request): sessionStorage
    // survives a reload of the tab, so this record is complete whenever the page goes away.
    sessionStorage.setItem('handled', JSON.stringify([...JSON.parse(sessionStorage.getItem('handled') ?? '[]'), tag]));
    // An asynchronous effect, as most apps' handlers have (a database write, a call to another process): one
    // under way when the page goes away never completes.
    void window.reportHandled?.(tag);
  });
  const rooms = { timeline_limit: 1, required_state: [] };
  const slidingSync = new SlidingSync(config.homeserverUrl, new Map([['rooms', { ranges: [[0, 9]], ...rooms }]]), rooms, client, 30_000);
  await client.startClient({ slidingSync });
}

main().catch((error: unknown) => {
  document.body.dataset.error = String(error);
  throw error;
});
