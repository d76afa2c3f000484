/**
 * Joining stays explicit, and the main process follows every room its account joined: a room another user made
 * and invited the desktop account to shows nothing until the user joins it from the dashboard, then its messages
 * appear in the timeline.
 */
import { MatrixClient } from '../../src/engine/matrix-client';
import { timelineEntryFor } from '../support/dashboard';
import { expect, test } from '../support/fixtures';

test('join: a room joined from the controls appears in the timeline', async ({ page }) => {
  const homeserverUrl = (await page.getByTestId('meta-homeserver').innerText()).trim();
  const anonymous = new MatrixClient({ baseUrl: homeserverUrl });
  const inviter = await anonymous.register({ username: `inviter${Date.now()}`, password: 'pw' });
  if (!inviter.ok) throw new Error(`register failed: ${JSON.stringify(inviter.error)}`);
  const client = anonymous.withAccessToken(inviter.value.access_token);
  const room = await client.createRoom({ name: 'not the demo room', invite: ['@desktop:localhost'] });
  if (!room.ok) throw new Error('createRoom failed');
  const sent = await client.sendRoomEvent(room.value.roomId, 'm.room.message', 'join-e2e-1', { msgtype: 'm.text', body: 'hello from another room' });
  if (!sent.ok) throw new Error('send failed');

  await page.getByTestId('input-join-room').fill('not a room');
  await page.getByTestId('btn-join-room').click();
  await expect(page.getByTestId('action-status')).toHaveAttribute('data-state', 'error');

  await page.getByTestId('input-join-room').fill(room.value.roomId);
  await page.getByTestId('btn-join-room').click();
  await expect(page.getByTestId('action-status')).toHaveAttribute('data-state', 'ok');
  await expect(page.getByTestId('action-status')).toContainText(`joined ${room.value.roomId}`);
  await expect(timelineEntryFor(page, sent.value.eventId)).toContainText('hello from another room', { timeout: 30_000 });
});
