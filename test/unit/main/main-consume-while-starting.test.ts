// A main process that starts again after a kill hands the rows other processes committed to its `main` consumer
// at once, and keeps doing so while it is still starting (before libolm has loaded and its sync loop can run).
import { describe, expect, it } from 'vitest';
import { noKillPoints } from '../../../src/engine/kill-points';
import { consumeWhileStarting } from '../../../src/main/host/main-consumer';
import { summarizeHandled } from '../../../src/store/handled';
import { appendToInbox } from '../../../src/store/inbox';
import { reopen, tempStore } from '../store/temp-store';

async function until(condition: () => boolean, boundMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${boundMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const events = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ type: 'org.todevice.demo', sender: '@s:localhost', content: { tag: `s0-${from + i}`, sent_at_ms: 1 } }));
const origin = { receivedAtMs: 1, process: 'notifier', pid: 2, batchSince: null, batchNextBatch: 'n1' };

describe('main consumes while starting', () => {
  it('main start: rows committed while main was down are handled before its sync loop exists, and rows appended meanwhile too', async () => {
    const store = tempStore();
    const notifier = reopen(store);
    notifier.immediate(() => appendToInbox(notifier, events(1, 3), origin));
    const starting = consumeWhileStarting({ store, strategy: 'explicit-lease', killPoints: noKillPoints, log: () => undefined });
    try {
      expect(summarizeHandled(store, 'main').rows).toBe(3); // at once, in the call itself
      notifier.immediate(() => appendToInbox(notifier, events(4, 5), origin));
      await until(() => summarizeHandled(store, 'main').rows === 5, 5000, () => `main handled ${summarizeHandled(store, 'main').rows} of 5`);
    } finally {
      starting.stop();
    }
  });
});
