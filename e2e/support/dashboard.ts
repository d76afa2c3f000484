/**
 * What the e2e scenarios do and read on the dashboard, in its own words: send traffic, press a control, read a
 * counter. Each helper goes through the page (the controls and the `data-testid`s), never around it.
 *
 * Runtime: Playwright (node).
 */
import { expect, type Locator, type Page } from '@playwright/test';

export type CounterName =
  | 'sent'
  | 'received'
  | 'lost'
  | 'duplicated'
  | 'pending-server'
  | 'pending-local'
  | 'room-keys'
  | 'notifications-decrypted'
  | 'notifications-unable-to-decrypt'
  | 'timeline-encrypted'
  | 'timeline-unable-to-decrypt'
  | 'timeline-late'
  | 'olm-one-time-keys'
  | 'olm-decrypted'
  | 'olm-failures'
  | 'olm-wedged'
  | 'olm-recoveries';

export function counter(page: Page, name: CounterName): Locator {
  return page.getByTestId(`counter-${name}`);
}

/** The counter's exact value (the `data-value` attribute; the text groups digits for reading). */
export async function readCounter(page: Page, name: CounterName): Promise<number> {
  return Number(await counter(page, name).getAttribute('data-value'));
}

/** Presses a control and waits for its call to come back; returns the result value (or fails on an error). */
export async function pressControl(page: Page, testId: string): Promise<unknown> {
  const status = page.getByTestId('action-status');
  await page.getByTestId(testId).click();
  // Sending hundreds of to-device messages is one HTTP request each; give a call its time.
  await expect(status).not.toHaveAttribute('data-state', 'busy', { timeout: 40_000 });
  await expect(status, await status.innerText()).toHaveAttribute('data-state', 'ok');
  return JSON.parse((await status.getAttribute('data-result')) ?? 'null') as unknown;
}

export async function sendToDevice(page: Page, count: number): Promise<void> {
  await page.getByTestId('input-count').fill(String(count));
  await pressControl(page, 'btn-send-to-device');
}

export interface SentRoomMessage {
  eventId: string;
  sessionId: string;
  /** The tag of the to-device message that shared its room key; null when the key was withheld. */
  keyTag: string | null;
}

/** Sends an encrypted room message (its key first, unless `withholdKey`); the homeserver pushes it. */
export async function sendRoomMessage(page: Page, text: string, options: { withholdKey?: boolean } = {}): Promise<SentRoomMessage> {
  await page.getByTestId('input-room-text').fill(text);
  await page.getByTestId('input-withhold-key').setChecked(options.withholdKey === true);
  return (await pressControl(page, 'btn-send-room-message')) as SentRoomMessage;
}

/** The notification shown for a pushed event (none, or one per notifier run that displayed it). */
export function notificationFor(page: Page, eventId: string): Locator {
  return page.locator(`[data-testid="notification-item"][data-event-id="${eventId}"]`);
}

/** The main timeline's entry for a room event. */
export function timelineEntryFor(page: Page, eventId: string): Locator {
  return page.locator(`[data-testid="timeline-item"][data-event-id="${eventId}"]`);
}

/** Waits until everything sent was received once: nothing pending (on the server or locally), lost or duplicated. */
export async function expectAllDelivered(page: Page, timeoutMs = 45_000): Promise<void> {
  // The snapshot that counts what was just sent may not have reached the page yet: until it has, nothing is
  // pending either, so wait for the sent messages to show first.
  await expect.poll(() => readCounter(page, 'sent'), { timeout: timeoutMs }).toBeGreaterThan(0);
  await expect(counter(page, 'pending-server')).toHaveAttribute('data-value', '0', { timeout: timeoutMs });
  await expect(counter(page, 'pending-local')).toHaveAttribute('data-value', '0', { timeout: timeoutMs });
  const sent = await readCounter(page, 'sent');
  await expect(counter(page, 'received')).toHaveAttribute('data-value', String(sent), { timeout: timeoutMs });
  await expect(counter(page, 'lost')).toHaveAttribute('data-value', '0');
  await expect(counter(page, 'duplicated')).toHaveAttribute('data-value', '0');
}
