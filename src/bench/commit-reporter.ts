/**
 * A child process of case 2 that reports its durable commits over IPC (live-engine-protocol.ts): the live engine
 * (src/bench/live-engine) and the floor's client (src/bench/latency-floor) both speak it. Also starts the
 * floor's server, which only tells its port.
 *
 * Runtime: node. Every wait is bounded, and a child that exits early fails the wait with its last stderr, so a
 * broken child fails the case with a reason instead of hanging the bench. Children run the TypeScript entries
 * through tsx, with the bench's environment minus kill points (`childEnvironment`, as the harness starts its).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { childEnvironment } from '../main/host/process-entries';
import { isLiveEngineMessage } from './live-engine-protocol';

const COMMIT_BOUND_MS = 10_000;
const START_BOUND_MS = 30_000;
const STOP_BOUND_MS = 10_000;

export interface CommitReporter {
  /** Resolves with the monotonic time (ns) of the child's next commit that holds at least one event. */
  nextCommitNs(): Promise<bigint>;
  stop(): Promise<void>;
}

interface Child {
  child: ChildProcess;
  bounded<T>(promise: Promise<T>, boundMs: number, what: string): Promise<T>;
  stop(): Promise<void>;
}

function forkChild(name: string, entryFile: string, argv: string[], env: Record<string, string>, v8Flags: readonly string[] = []): Child {
  const child = fork(entryFile, argv, {
    execArgv: [...v8Flags, '--import', import.meta.resolve('tsx')],
    env: childEnvironment(env),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  let reported: string | undefined;
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
  child.on('message', (message: unknown) => {
    if (isLiveEngineMessage(message) && message.kind === 'failed') reported = message.error;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failure = (): string => reported ?? stderr;
  const gone = exited.then(() => Promise.reject(new Error(`bench: ${name} exited: ${failure()}`)));
  // Raced below; the exit after a clean stop must not count as an unhandled rejection.
  gone.catch(() => undefined);
  return {
    child,
    bounded<T>(promise: Promise<T>, boundMs: number, what: string): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`bench: ${name}: ${what} within ${boundMs} ms (${failure()})`)), boundMs);
      });
      return Promise.race([promise, bound, gone]).finally(() => clearTimeout(timer));
    },
    async stop() {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_BOUND_MS)));
      if ((await Promise.race([exited, late])) === 'late') child.kill('SIGKILL');
      clearTimeout(timer);
      await exited;
    },
  };
}

/**
 * Starts a reporting child and waits (bounded) until it says it is ready (its long poll is open). `v8Flags` go
 * before the entry, as a launcher passes them (the live engine gets the main sync process's).
 */
export async function startCommitReporter(
  name: string,
  entryFile: string,
  argv: string[],
  options: { env?: Record<string, string>; v8Flags?: readonly string[] } = {},
): Promise<CommitReporter> {
  const started = forkChild(name, entryFile, argv, options.env ?? {}, options.v8Flags);
  let waiting: ((atNs: bigint) => void) | undefined;
  let onReady: (() => void) | undefined;
  started.child.on('message', (message: unknown) => {
    if (!isLiveEngineMessage(message)) return;
    if (message.kind === 'ready') onReady?.();
    if (message.kind === 'commit' && message.eventCount > 0) waiting?.(BigInt(message.atNs));
  });
  await started.bounded(new Promise<void>((resolve) => (onReady = resolve)), START_BOUND_MS, 'not ready');
  return {
    nextCommitNs: () => started.bounded(new Promise<bigint>((resolve) => (waiting = resolve)), COMMIT_BOUND_MS, 'no commit'),
    stop: () => started.stop(),
  };
}

/** Starts a child that announces `{kind: 'port', port}` once listening; resolves with the port (bounded). */
export async function startPortServer(name: string, entryFile: string, argv: string[]): Promise<{ port: number; stop(): Promise<void> }> {
  const started = forkChild(name, entryFile, argv, {});
  const port = await started.bounded(
    new Promise<number>((resolve) =>
      started.child.on('message', (message: unknown) => {
        const announced = message as { kind?: unknown; port?: unknown } | null;
        if (announced?.kind === 'port' && typeof announced.port === 'number') resolve(announced.port);
      }),
    ),
    START_BOUND_MS,
    'no port',
  );
  return { port, stop: () => started.stop() };
}
