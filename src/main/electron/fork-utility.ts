/**
 * Starts one of the app's bundled entries (`out/main/*.js`) as an Electron utility process, with the exit and
 * kill semantics the host's launchers expect from a Node child process.
 *
 * Runtime: electron-main. Kills go through `process.kill(pid, signal)`, because `UtilityProcess.kill()` only
 * sends SIGTERM and the harness needs SIGKILL at arbitrary points. A utility process reports only an exit code,
 * so the signal in `exited` is the one we sent, when we sent one. Its PID is known once it has spawned, so
 * `pid` is read late (a getter).
 */
import { utilityProcess, type UtilityProcess } from 'electron';

export interface ForkedUtility {
  child: UtilityProcess;
  readonly pid: number;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** `v8Flags`: options for the utility process's V8 (its heap limits), passed as its `execArgv`. */
export function forkUtility(
  entryFile: string,
  argv: string[],
  env: Record<string, string> | undefined,
  serviceName: string,
  v8Flags: readonly string[] = [],
): ForkedUtility {
  const child = utilityProcess.fork(entryFile, argv, {
    env: { ...process.env, ...env },
    execArgv: [...v8Flags],
    stdio: 'inherit',
    serviceName,
  });
  let sentSignal: string | null = null;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code) => resolve({ code: sentSignal === null ? code : null, signal: sentSignal }));
  });
  return {
    child,
    get pid() {
      return child.pid ?? -1;
    },
    exited,
    kill(signal = 'SIGKILL') {
      if (child.pid === undefined) {
        child.kill();
        return;
      }
      sentSignal = signal;
      try {
        process.kill(child.pid, signal);
      } catch {
        // The process had already exited; nothing is left to kill.
      }
    },
  };
}
