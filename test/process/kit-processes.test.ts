// The kit's process helpers on a real process tree: a parent named by a data directory on its command line and
// a child that is not, found, stopped, resumed and killed as one tree, and a one-line error for bad targets.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { kitProcesses } from '../../src/kit/kit-processes';
import { KitRun } from '../../src/kit/kit-run';
import { tempDir } from './support';

const waitMs = 10_000;
const started: number[] = [];

afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/** State letter of /proc/<pid>/stat (`T` stopped, `S` sleeping, ...), or undefined when gone. */
function state(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${waitMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A parent with `--data <dir>` that starts one child without it and prints the child's PID. */
async function startTree(dataDir: string): Promise<{ parent: number; child: number }> {
  const childScript = 'setInterval(() => {}, 1000)';
  const parentScript = `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(childScript)}], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', parentScript, '--', '--data', dataDir], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(parent.pid ?? -1);
  const line = await new Promise<string>((resolve) => readline.createInterface({ input: parent.stdout }).once('line', resolve));
  started.push(Number(line));
  return { parent: parent.pid ?? -1, child: Number(line) };
}

describe('kit process helpers', () => {
  it('kit processes: a tree found by its data directory is stopped, resumed and killed whole, each signal in the timeline', async () => {
    const dataDir = tempDir('kit-processes');
    const { parent, child } = await startTree(dataDir);
    const run = new KitRun(5);
    const processes = kitProcesses(run);
    const tree = processes.find({ dataDir });
    expect(tree.rootPids).toEqual([parent]);
    expect(tree.pids()).toEqual([parent, child]);

    expect(processes.suspend(tree)).toEqual([parent, child]);
    await until(() => state(parent) === 'T' && state(child) === 'T', 'both stopped');
    processes.resume({ pid: parent });
    await until(() => state(parent) !== 'T' && state(child) !== 'T', 'both running again');

    processes.suspend(tree);
    processes.resumeAll();
    await until(() => state(parent) !== 'T' && state(child) !== 'T', 'resumeAll resumed both');

    expect(processes.kill(tree)).toEqual([parent, child]);
    await processes.waitForExit(tree);
    expect(run.timeline.map((event) => event.kind)).toEqual(['SIGSTOP', 'SIGCONT', 'SIGSTOP', 'SIGKILL']);
    expect(run.timeline[0]?.detail).toBe(`processes on ${dataDir}: pids ${parent}, ${child}`);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('kit processes: no such PID, nothing on a directory, or a bad PID is a one-line error', () => {
    const processes = kitProcesses(new KitRun(5));
    const emptyDir = tempDir('kit-processes-none');
    expect(() => processes.find({ dataDir: emptyDir })).toThrow(`todevice kit: no running process has ${emptyDir} on its command line`);
    expect(() => processes.find({ pid: 2 ** 22 + 7 })).toThrow(/^todevice kit: no process with pid \d+$/);
    expect(() => processes.find({ pid: -3 })).toThrow('todevice kit: pid must be a positive integer, got -3');
    fs.rmSync(emptyDir, { recursive: true, force: true });
  });
});
