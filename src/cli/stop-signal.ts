/**
 * Waiting for the user (or a supervisor) to stop a long-running command.
 *
 * Runtime: node. Call it before announcing readiness: a script that reads the announcement and at once sends
 * SIGTERM must get the clean shutdown, not the default action of a signal that arrived before the handler.
 */

/** Resolves on the first SIGINT or SIGTERM; the handlers are installed before this returns. */
export function waitForStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
