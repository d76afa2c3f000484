import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { holderProcessGone } from '../../../src/engine/holder-liveness';
import { holdsLease, tryAcquireLease } from '../../../src/store/lease';
import { tempStore } from '../store/temp-store';

async function until(condition: () => boolean, boundMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${boundMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const procState = (pid: number): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
};

/**
 * A process that exited and that its parent never reaps: `sleep 0` started in the background by a shell that
 * then becomes `sleep 30` (exec), which never waits for it. Returns its PID and a cleanup.
 */
async function unreapedChild(): Promise<{ pid: number; stop: () => void }> {
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { pid: Number(line), stop: () => parent.kill('SIGKILL') };
}

describe('holder liveness', () => {
  it('holder liveness: a holder whose process exited (and was reaped) is gone', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.once('exit', resolve));
    expect(child.pid).toBeGreaterThan(0);
    expect(holderProcessGone(`notifier:${child.pid}`)).toBe(true);
  });

  it('holder liveness: a running process, this one, and names without a PID count as alive', () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      expect(holderProcessGone(`notifier:${child.pid}`)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    expect(holderProcessGone(`main:${process.pid}`)).toBe(false);
    expect(holderProcessGone('main:1')).toBe(false);
    for (const name of ['main', 'main:', 'main:abc', 'main:-4', 'main:0', 'main:1.5']) expect(holderProcessGone(name)).toBe(false);
  });

  it.runIf(process.platform === 'linux')('holder liveness: a holder that exited but was not reaped yet (a zombie) is gone, and its lease is taken at the first attempt', async () => {
    const zombie = await unreapedChild();
    try {
      await until(() => procState(zombie.pid) === 'Z', 5000, () => `process ${zombie.pid} is in state ${procState(zombie.pid) ?? 'unknown'}`);
      expect(() => process.kill(zombie.pid, 0)).not.toThrow(); // the PID still exists
      expect(holderProcessGone(`notifier:${zombie.pid}`)).toBe(true);
      const store = tempStore();
      const holder = `notifier:${zombie.pid}`;
      expect(tryAcquireLease(store, { key: 'to-device', holder, durationMs: 3000, nowMs: 1000 }).acquired).toBe(true);
      const taken = tryAcquireLease(store, { key: 'to-device', holder: 'main:100', durationMs: 3000, nowMs: 1001, holderGone: holderProcessGone });
      expect(taken).toMatchObject({ acquired: true, takenFromGoneHolder: holder });
    } finally {
      zombie.stop();
    }
  });

  it.runIf(process.platform === 'linux')('holder liveness: a stopped process (SIGSTOP) counts as gone and its lease is taken at once; continued, it counts as alive again and is fenced', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      const holder = `main:${child.pid}`;
      await until(() => procState(child.pid ?? 0) === 'S' || procState(child.pid ?? 0) === 'R', 5000, () => `state ${procState(child.pid ?? 0) ?? 'unknown'}`);
      expect(holderProcessGone(holder)).toBe(false);
      const store = tempStore();
      expect(tryAcquireLease(store, { key: 'to-device', holder, durationMs: 3000, nowMs: 1000 })).toMatchObject({ acquired: true, generation: 1 });
      child.kill('SIGSTOP');
      await until(() => procState(child.pid ?? 0) === 'T', 5000, () => `state ${procState(child.pid ?? 0) ?? 'unknown'}`);
      expect(holderProcessGone(holder)).toBe(true);
      const taken = tryAcquireLease(store, { key: 'to-device', holder: 'notifier:100', durationMs: 3000, nowMs: 1001, holderGone: holderProcessGone });
      expect(taken).toMatchObject({ acquired: true, generation: 2, takenFromGoneHolder: holder });
      child.kill('SIGCONT');
      await until(() => procState(child.pid ?? 0) !== 'T', 5000, () => `state ${procState(child.pid ?? 0) ?? 'unknown'}`);
      expect(holderProcessGone(holder)).toBe(false);
      // The continued holder no longer holds the lease at its generation: its next commit is fenced.
      expect(holdsLease(store, { key: 'to-device', holder, generation: 1 })).toBe(false);
      store.close();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
