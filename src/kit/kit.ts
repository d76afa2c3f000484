/**
 * The kit's implementation, as `todevice/playwright` (playwright/index.mjs) loads it: the Playwright fixtures,
 * and the same parts for a plain script (`createKit`) that wants a homeserver, accounts, a sender and an oracle
 * without a test runner.
 *
 * Runtime: node. The public types are declared by hand in playwright/index.d.ts; test/unit/kit checks that
 * these exports satisfy them, so the declarations a consumer compiles against are the ones that run.
 */
import { kitAccounts, type KitAccounts } from './kit-accounts';
import { startKitHomeserver, type HomeserverOptions, type KitHomeserver } from './kit-homeserver';
import { kitOracle, type KitOracle } from './kit-oracle';
import { kitProcesses, type KitProcesses } from './kit-processes';
import { chooseSeed, KitRun } from './kit-run';
import { kitSender, type KitSender } from './kit-sender';

export { todeviceFixtures } from './kit-fixtures';
export { describeVerdict, judgeHandled } from './kit-oracle';
export { chooseSeed, KitRun } from './kit-run';
export { KitHttpError } from './kit-http';

export interface Kit {
  run: KitRun;
  homeserver: KitHomeserver;
  accounts: KitAccounts;
  sender: KitSender;
  oracle: KitOracle;
  processes: KitProcesses;
  /** Resumes suspended processes, releases the sender's crypto state, stops the homeserver. */
  close(): Promise<void>;
}

export interface CreateKitOptions {
  /** Default `TODEVICE_SEED`, else a fresh one. */
  seed?: number;
  homeserver?: HomeserverOptions;
}

/** Everything the fixtures give a test, for a script: starts a `todevice serve`; call `close()` when done. */
export async function createKit(options: CreateKitOptions = {}): Promise<Kit> {
  const run = new KitRun(options.seed ?? chooseSeed());
  const homeserver = await startKitHomeserver(run, options.homeserver ?? {});
  const sender = kitSender(run);
  const processes = kitProcesses(run);
  return {
    run,
    homeserver,
    accounts: kitAccounts(homeserver.url),
    sender,
    oracle: kitOracle(run, () => sender.sent(), (device) => homeserver.inspect(device)),
    processes,
    close: async () => {
      processes.resumeAll();
      sender.close();
      await homeserver.close();
    },
  };
}
