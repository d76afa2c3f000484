/**
 * The kit's Playwright fixtures as a plain fixtures object, so it extends any `test`: the kit's own
 * (`todevice/playwright` exports `test = base.extend(todeviceFixtures)`) or a project's (`myTest.extend(...)`).
 *
 * Runtime: node (a Playwright worker). Every fixture is per test: each test gets a fresh `todevice serve`, so no
 * test sees another's queues, faults or counters. On a failed test the server's log is attached and its data
 * directory kept (its path is in the log's first line); on a passed one the directory is removed. Teardown
 * resumes every process the test suspended through `processes`, so a failed test never leaves one stopped.
 * Only the types of @playwright/test are imported here: the fixtures run on whichever Playwright the test uses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Fixtures, PlaywrightTestArgs, PlaywrightTestOptions, PlaywrightWorkerArgs, PlaywrightWorkerOptions } from '@playwright/test';
import { kitAccounts, type KitAccounts } from './kit-accounts';
import { startKitHomeserver, type HomeserverOptions, type KitHomeserver } from './kit-homeserver';
import { kitOracle, type KitOracle } from './kit-oracle';
import { kitProcesses, type KitProcesses } from './kit-processes';
import { chooseSeed, KitRun } from './kit-run';
import { kitSender, type KitSender } from './kit-sender';

export interface TodeviceOptions {
  /** The run's seed (for `kitRun.random()` and every verdict). Default `TODEVICE_SEED`, else a fresh one per test. */
  seed: number | undefined;
  /** How the per-test `todevice serve` starts (server name, `file` or `memory` database). Default `{}`. */
  homeserverOptions: Omit<HomeserverOptions, 'dataDir' | 'logFile'>;
}

export interface TodeviceFixtures {
  /** The test's seed, seeded randomness, and the timeline of faults and notes the verdicts print. */
  kitRun: KitRun;
  /** A fresh `todevice serve` on 127.0.0.1 port 0 with faults and inspection. */
  homeserver: KitHomeserver;
  /** Registers users and devices on `homeserver`. */
  accounts: KitAccounts;
  /** Sends tagged to-device and Megolm room messages, in order, and keeps the log the oracle judges. */
  sender: KitSender;
  /** Judges the tags a client handled against what `homeserver` accepted and deleted. */
  oracle: KitOracle;
  /** SIGSTOP / SIGCONT / SIGKILL process trees by data directory or PID. */
  processes: KitProcesses;
}

type Base = PlaywrightTestArgs & PlaywrightTestOptions;
type WorkerBase = PlaywrightWorkerArgs & PlaywrightWorkerOptions;

export const todeviceFixtures: Fixtures<TodeviceFixtures & TodeviceOptions, object, Base, WorkerBase> = {
  seed: [undefined, { option: true }],
  homeserverOptions: [{}, { option: true }],

  kitRun: async ({ seed }, use, testInfo) => {
    const run = new KitRun(seed ?? chooseSeed());
    testInfo.annotations.push({ type: 'todevice seed', description: String(run.seed) });
    await use(run);
  },

  homeserver: async ({ kitRun, homeserverOptions }, use, testInfo) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-kit-'));
    const logFile = testInfo.outputPath('homeserver.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, `todevice serve, data dir ${dataDir}, seed ${kitRun.seed}\n`);
    const server = await startKitHomeserver(kitRun, { ...homeserverOptions, dataDir, logFile });
    try {
      await use(server);
    } finally {
      await server.close();
      const failed = testInfo.status !== testInfo.expectedStatus;
      if (failed) await testInfo.attach('homeserver.log', { path: logFile, contentType: 'text/plain' });
      else fs.rmSync(dataDir, { recursive: true, force: true });
    }
  },

  accounts: async ({ homeserver }, use) => {
    await use(kitAccounts(homeserver.url));
  },

  sender: async ({ kitRun }, use) => {
    const sender = kitSender(kitRun);
    try {
      await use(sender);
    } finally {
      sender.close();
    }
  },

  oracle: async ({ kitRun, sender, homeserver }, use) => {
    await use(kitOracle(kitRun, () => sender.sent(), (device) => homeserver.inspect(device)));
  },

  processes: async ({ kitRun }, use) => {
    const processes = kitProcesses(kitRun);
    try {
      await use(processes);
    } finally {
      processes.resumeAll();
    }
  },
};
