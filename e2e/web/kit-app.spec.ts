/**
 * The app's own engine tested with the Playwright kit the way any client is: the app runs against the kit's
 * `todevice serve`, the kit sends tagged to-device messages to the app's device, drops its responses, suspends
 * and kills its main sync process (found by the data directory on its command line), and the oracle judges the
 * tags the app's main consumer handled (its `handled` rows) against what the server accepted and deleted.
 */
import path from 'node:path';
import { CLIENT_DB_FILE } from '../../src/shared/data-layout';
import { readStoreReadOnly } from '../../src/store/open-store';
import { appDevice } from '../support/app-device';
import { expect, test } from '../support/fixtures';

/** Every tag the app's main consumer handled, in handling order (a duplicate is a second row). */
function handledByMain(dataDir: string): string[] {
  return readStoreReadOnly(path.join(dataDir, CLIENT_DB_FILE), (store) =>
    (store.statement("SELECT tag FROM handled WHERE consumer = 'main' AND tag IS NOT NULL ORDER BY rowid").all() as Array<{ tag: string }>).map(
      (row) => row.tag,
    ),
  );
}

test('kit: the app delivers every kit message exactly once through dropped responses, a suspended main and a killed main', async ({
  appOnKit,
  accounts,
  sender,
  homeserver,
  processes,
  oracle,
}) => {
  const device = appDevice(appOnKit.dataDir);
  const handled = (): string[] => handledByMain(appOnKit.dataDir);
  const { kitbot } = await accounts.register({ kitbot: 'BOT' });
  await sender.toDevice(kitbot.device, device, { count: 20 });
  await expect.poll(() => handled().length).toBe(20);

  await homeserver.faults.dropResponses(device, { count: 2 });
  await sender.toDevice(kitbot.device, device, { count: 20 });

  const main = processes.find({ dataDir: appOnKit.dataDir });
  processes.suspend(main);
  await sender.toDevice(kitbot.device, device, { count: 20 });
  processes.resume(main);

  const stream = sender.toDevice(kitbot.device, device, { count: 40 });
  await expect.poll(() => handled().length).toBeGreaterThan(65);
  // The app restarts a main that died, as an OS relaunching it would.
  expect(processes.kill(main).length).toBeGreaterThan(0);
  await stream;

  const verdict = await oracle.waitForHandled(handled, { recipient: device, timeoutMs: 45_000 });
  appOnKit.log(verdict.message);
  expect(verdict.ok, verdict.message).toBe(true);
  // Messages sent after the kill were handled: only the main the app started after it could have.
  expect(verdict.accepted).toBe(100);
});
