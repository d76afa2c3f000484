// Every notifier runs with the notifier's V8 options, whichever path starts it: the app's Node launcher (over the
// host's process entries) and the race harness's (and the bench's) process entries. The Electron utility-process launcher passes the same
// constant; no Electron binary exists here to start one.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { prepareEntries } from '../../../src/main/host/process-entries';
import { NOTIFIER_V8_FLAGS, nodeNotifierLauncher } from '../../../src/main/host/notifier-launcher';
import { tempDir } from '../store/temp-store';

const push = { eventId: '$event', roomId: '!room:localhost', strategy: 'explicit-lease' };

/** The command line of a running process, once it has exec'd into `entry` (ps, as on Linux and macOS). */
async function commandLineOf(pid: number, entry: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    let line = '';
    try {
      line = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    } catch {
      // Not there (yet, or any more): look again until the deadline.
    }
    if (line.includes(entry)) return line;
    if (Date.now() > deadline) throw new Error(`process ${pid} never ran ${entry} (last seen: "${line}")`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('notifier V8 options', () => {
  it('notifier V8 options: a notifier started by the app runs with them', async () => {
    expect(NOTIFIER_V8_FLAGS.length).toBeGreaterThan(0);
    const entries = await prepareEntries('host');
    const launched = nodeNotifierLauncher(entries).launch({ dataDir: tempDir(), ...push });
    try {
      const line = await commandLineOf(launched.pid, entries.mode === 'bundle' ? 'notifier.mjs' : 'notifier/index.ts');
      for (const flag of NOTIFIER_V8_FLAGS) expect(line).toContain(flag);
    } finally {
      launched.kill('SIGKILL');
      await launched.exited;
      entries.dispose();
    }
  });

  it('notifier V8 options: a notifier started by the race harness and the bench runs with them', async () => {
    const entries = await prepareEntries();
    try {
      const started = entries.start('notifier', ['--data', tempDir(), '--event-id', push.eventId, '--room-id', push.roomId, '--strategy', push.strategy], {});
      for (const flag of NOTIFIER_V8_FLAGS) expect(started.child.spawnargs).toContain(flag);
      await started.exited;
    } finally {
      entries.dispose();
    }
  });
});
