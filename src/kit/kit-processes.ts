/**
 * Process helpers for apps under test (an Electron app from Playwright's `_electron`, any launched app, the
 * kit's own homeserver): find a process tree by the data directory on its command line or by a PID, then
 * SIGSTOP, SIGCONT or SIGKILL the whole tree, as the race harness does to the app's own processes.
 *
 * Runtime: node, Linux (reads /proc). Guarantees:
 * - the tree is recomputed at each signal (a parent may have started children since it was found), parents
 *   before children, so a stopped or killed parent cannot start or restart a child in between;
 * - this process (the test runner) and its ancestors are never part of a tree found by data directory, so a test
 *   whose own command line names the directory cannot stop itself;
 * - a process that exits between being listed and being signalled is skipped, not an error;
 * - every signal sent is recorded in the run's timeline.
 * Bad input (no /proc, no process with that PID, nothing running on that data directory) is a one-line error.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KitRun } from './kit-run';

const exitPollMs = 50;

/** How to find a process tree: the process(es) whose command line names `dataDir`, or one `pid`. */
export type ProcessTarget = { dataDir: string } | { pid: number };

export interface ProcessTree {
  /** The processes found (their descendants belong to the tree too). */
  readonly rootPids: readonly number[];
  /** Every live process of the tree now: the roots and all their descendants, parents first. */
  pids(): number[];
  /** What the tree was found by, for messages. */
  readonly description: string;
}

export interface KitProcesses {
  /** Finds the tree now; throws when nothing matches. */
  find(target: ProcessTarget): ProcessTree;
  /** SIGSTOPs every process of the tree (the kit resumes them when the test ends). Returns the PIDs signalled. */
  suspend(target: ProcessTarget | ProcessTree): number[];
  /** SIGCONTs every process of the tree. */
  resume(target: ProcessTarget | ProcessTree): number[];
  /** SIGKILLs every process of the tree. */
  kill(target: ProcessTarget | ProcessTree): number[];
  /** Resolves once no process of the tree is alive; throws after `timeoutMs` (default 10000). */
  waitForExit(tree: ProcessTree, timeoutMs?: number): Promise<void>;
  /** Resumes every process this object suspended and has not resumed (the fixture calls it when the test ends). */
  resumeAll(): void;
}

interface ProcessRow {
  pid: number;
  ppid: number;
  args: string[];
}

export function kitProcesses(run: KitRun): KitProcesses {
  const suspended = new Set<number>();
  const treeOf = (target: ProcessTarget | ProcessTree): ProcessTree => ('pids' in target ? target : findTree(target));
  const signal = (target: ProcessTarget | ProcessTree, name: NodeJS.Signals): number[] => {
    const tree = treeOf(target);
    const signalled: number[] = [];
    for (const pid of tree.pids()) {
      try {
        process.kill(pid, name);
        signalled.push(pid);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    run.record(name, `${tree.description}: pids ${signalled.join(', ') || 'none alive'}`);
    return signalled;
  };
  return {
    find: findTree,
    suspend: (target) => {
      const pids = signal(target, 'SIGSTOP');
      for (const pid of pids) suspended.add(pid);
      return pids;
    },
    resume: (target) => {
      const pids = signal(target, 'SIGCONT');
      for (const pid of pids) suspended.delete(pid);
      return pids;
    },
    kill: (target) => {
      const pids = signal(target, 'SIGKILL');
      for (const pid of pids) suspended.delete(pid);
      return pids;
    },
    waitForExit: async (tree, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (tree.pids().length > 0) {
        if (Date.now() >= deadline) throw new Error(`todevice kit: ${tree.description} still running after ${timeoutMs} ms: pids ${tree.pids().join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, exitPollMs));
      }
    },
    resumeAll: () => {
      for (const pid of suspended) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Already gone: nothing to resume.
        }
      }
      suspended.clear();
    },
  };
}

function findTree(target: ProcessTarget): ProcessTree {
  if (!fs.existsSync('/proc/self/stat')) throw new Error('todevice kit: the process helpers need Linux /proc');
  if ('pid' in target) {
    const pid = target.pid;
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`todevice kit: pid must be a positive integer, got ${String(pid)}`);
    if (readRow(pid) === undefined) throw new Error(`todevice kit: no process with pid ${pid}`);
    return makeTree([pid], `process tree of pid ${pid}`);
  }
  if (typeof target.dataDir !== 'string' || target.dataDir === '') throw new Error('todevice kit: dataDir must be a non-empty path');
  const dir = path.resolve(target.dataDir);
  const own = ownLineage();
  const rows = listProcesses();
  const matches = new Set(rows.filter((row) => !own.has(row.pid) && row.args.some((arg) => namesDir(arg, dir))).map((row) => row.pid));
  const roots = rows.filter((row) => matches.has(row.pid) && !matches.has(row.ppid)).map((row) => row.pid);
  if (roots.length === 0) throw new Error(`todevice kit: no running process has ${dir} on its command line`);
  return makeTree(roots, `processes on ${dir}`);
}

function makeTree(rootPids: number[], description: string): ProcessTree {
  return {
    rootPids,
    description,
    pids: () => {
      const rows = listProcesses();
      const children = new Map<number, number[]>();
      for (const row of rows) children.set(row.ppid, [...(children.get(row.ppid) ?? []), row.pid]);
      const alive = new Set(rows.map((row) => row.pid));
      const ordered: number[] = [];
      const queue = rootPids.filter((pid) => alive.has(pid));
      const seen = new Set<number>();
      // Breadth first: every parent comes before its children.
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (seen.has(next)) continue;
        seen.add(next);
        ordered.push(next);
        queue.push(...(children.get(next) ?? []));
      }
      return ordered;
    },
  };
}

/** `--data /dir`, `--user-data-dir=/dir`, `/dir/client.db` all name `/dir`. */
function namesDir(arg: string, dir: string): boolean {
  return arg === dir || arg.endsWith(`=${dir}`) || arg.startsWith(`${dir}${path.sep}`) || arg.includes(`=${dir}${path.sep}`);
}

function ownLineage(): Set<number> {
  const lineage = new Set<number>();
  for (let pid: number | undefined = process.pid; pid !== undefined && pid > 0 && !lineage.has(pid); pid = readRow(pid)?.ppid) lineage.add(pid);
  return lineage;
}

function listProcesses(): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const row = readRow(Number(entry));
    if (row !== undefined) rows.push(row);
  }
  return rows;
}

function readRow(pid: number): ProcessRow | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (afterName[0] === 'Z') return undefined;
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
    return { pid, ppid: Number(afterName[1]), args };
  } catch {
    return undefined;
  }
}
