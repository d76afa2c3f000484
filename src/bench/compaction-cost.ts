/**
 * What inbox compaction costs the commit path, measured for the two places it could run: a bounded background
 * step (what the main process does, src/store/maintenance.ts) and inside each consumer's own transaction.
 * `node scripts/compaction-cost.mjs` prints the figures the README quotes.
 *
 * Runtime: node. Two real processes on one store at `synchronous = FULL`, as on a device: a committer child that
 * appends batches of 100 events with `commitBatch` back to back and times each one (that is the commit path:
 * while it waits for the write lock, a to-device batch is not durable and its token not acknowledged), and this
 * process consuming as `main` and `notifier` do, with one of three compaction modes:
 * - `none`: no compaction at all (the store before retention), the baseline;
 * - `background`: a `compactInbox` step (up to `COMPACTION_BATCH_ROWS` rows, one transaction) once per second,
 *   as the main process's maintenance runs it;
 * - `in-consume`: every consume chunk (`CHUNK_ROWS` rows, one transaction) also deletes what every consumer has
 *   passed, in that transaction.
 * The modes run in alternated rounds, each on a fresh store, so machine noise lands on all of them.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { realSleep } from '../engine/timing';
import { commitBatch } from '../store/commit-batch';
import { CHUNK_ROWS, consume } from '../store/consume';
import { MAIN_CONSUMER, NOTIFIER_CONSUMER } from '../store/cursors';
import { recordHandled } from '../store/handled';
import { compactInbox, passedByEveryConsumer } from '../store/inbox-compaction';
import { openStore, type ClientStore } from '../store/open-store';
import { readToken } from '../store/token';
import { nowMs, percentile } from './stats';

export type CompactionMode = 'none' | 'background' | 'in-consume';
export const COMPACTION_MODES: readonly CompactionMode[] = ['none', 'background', 'in-consume'];

export interface ModeSamples {
  mode: CompactionMode;
  /** Milliseconds of each `commitBatch` in the committer process. */
  commitMs: number[];
  /** Milliseconds each compaction held the write lock (its transaction), for the modes that compact. */
  compactionMs: number[];
  inboxRowsAtEnd: number;
}

const BACKGROUND_INTERVAL_MS = 1000;
const PASS_GAP_MS = 20;

/** The committer's work, in the child process: `batches` commits of 100 events, each timed. */
export function commitLoop(storePath: string, batches: number): number[] {
  const store = openStore(storePath);
  try {
    const samples: number[] = [];
    for (let i = 0; i < batches; i += 1) {
      const events = Array.from({ length: 100 }, (_, n) => ({ type: 'm.test', sender: '@s:x', content: { tag: `b${i}-${n}`, pad: 'x'.repeat(300) } }));
      const startedMs = nowMs();
      const result = commitBatch(store, { expectedSince: readToken(store).since, nextBatch: `nb${i}`, events, process: 'committer', pid: process.pid, nowMs: Date.now() });
      samples.push(nowMs() - startedMs);
      if (result.kind !== 'committed') throw new Error(`committer: ${result.kind}`);
    }
    return samples;
  } finally {
    store.close();
  }
}

/** One round of one mode: the committer child runs `batches` commits while this process consumes. */
export async function measureMode(mode: CompactionMode, batches: number, childScript: string): Promise<ModeSamples> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-compaction-'));
  const storePath = path.join(dir, 'client.db');
  const store = openStore(storePath);
  const compactionMs: number[] = [];
  try {
    const child = fork(childScript, ['--child', storePath, String(batches)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const samples = new Promise<number[]>((resolve, reject) => {
      child.once('message', (message) => resolve(message as number[]));
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`committer exited ${String(code)}`))));
    });
    let done = false;
    void samples.finally(() => (done = true));
    let nextBackgroundMs = 0;
    while (!done) {
      consumePass(store, mode, compactionMs);
      if (mode === 'background' && nowMs() >= nextBackgroundMs) {
        nextBackgroundMs = nowMs() + BACKGROUND_INTERVAL_MS;
        const startedMs = nowMs();
        if (compactInbox(store, { limit: { maxRows: 200, maxAgeMs: null }, nowMs: Date.now() }).deleted > 0) compactionMs.push(nowMs() - startedMs);
      }
      await realSleep(PASS_GAP_MS);
    }
    const commitMs = await samples;
    return { mode, commitMs, compactionMs, inboxRowsAtEnd: (store.statement('SELECT count(*) AS n FROM inbox').get() as { n: number }).n };
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `main` and `notifier` each consume what arrived (recording `handled`, as the app's consumers do). */
function consumePass(store: ClientStore, mode: CompactionMode, compactionMs: number[]): void {
  for (const consumer of [MAIN_CONSUMER, NOTIFIER_CONSUMER]) {
    const handler = (row: Parameters<typeof recordHandled>[2], db: Parameters<typeof recordHandled>[0]): void => recordHandled(db, consumer, row, Date.now());
    if (mode !== 'in-consume') {
      consume(store, consumer, handler, { maxRows: 500 });
      continue;
    }
    // The alternative: each chunk's transaction (CHUNK_ROWS rows, as consume commits them) also deletes what
    // every consumer has passed by then.
    for (let looked = 0; looked < 500; ) {
      const summary = store.immediate(() => {
        const chunk = consume(store, consumer, handler, { maxRows: CHUNK_ROWS });
        const startedMs = nowMs();
        const upTo = Math.min(passedByEveryConsumer(store), (store.statement('SELECT coalesce(max(seq), 0) - 200 AS s FROM inbox').get() as { s: number }).s);
        if (store.statement('DELETE FROM inbox WHERE seq <= ?').run(upTo).changes > 0) compactionMs.push(nowMs() - startedMs);
        return chunk;
      });
      looked += summary.handled + summary.skipped;
      if (summary.handled + summary.skipped < CHUNK_ROWS) break;
    }
  }
}

export function describeSamples(all: readonly ModeSamples[]): string {
  const lines = ['mode        commits  commit p50   p99    max  | compactions  held p50  p99    max   | inbox rows left'];
  for (const mode of COMPACTION_MODES) {
    const runs = all.filter((s) => s.mode === mode);
    const commits = runs.flatMap((s) => s.commitMs);
    const held = runs.flatMap((s) => s.compactionMs);
    const f = (n: number): string => (Number.isNaN(n) ? '   -' : n.toFixed(1).padStart(5));
    lines.push(
      `${mode.padEnd(11)} ${String(commits.length).padStart(7)}  ${f(percentile(commits, 50))} ms ${f(percentile(commits, 99))} ${f(Math.max(...commits))}  | ` +
        `${String(held.length).padStart(11)}  ${f(percentile(held, 50))} ms ${f(percentile(held, 99))} ${f(held.length > 0 ? Math.max(...held) : Number.NaN)} | ` +
        `${runs.map((s) => s.inboxRowsAtEnd).join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
