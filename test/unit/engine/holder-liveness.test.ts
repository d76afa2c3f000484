import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { holderProcessGone } from '../../../src/engine/holder-liveness';

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
});
