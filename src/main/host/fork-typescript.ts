/**
 * Starts one of the project's TypeScript entry files as a Node child process, through tsx, with an IPC channel.
 *
 * Runtime: node. Used by the plain-Node launchers of the notifier and the main sync process (the Electron app
 * starts the bundled JavaScript as utility processes instead). A process that cannot be started reports an exit
 * with no code rather than leaving the caller waiting.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface ForkedProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** `v8Flags`: options for the child's V8 (its heap limits), before the tsx loader. */
export function forkTypeScript(entryPath: string, argv: string[], env: Record<string, string> = {}, v8Flags: readonly string[] = []): ForkedProcess {
  const child = fork(entryPath, argv, {
    execArgv: [...v8Flags, '--import', import.meta.resolve('tsx')],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return { child, pid: child.pid ?? -1, exited, kill: (signal = 'SIGKILL') => child.kill(signal) };
}
