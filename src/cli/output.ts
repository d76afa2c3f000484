/**
 * Standard output and error for a command whose reader may go away: `todevice inbox | head -20` closes the pipe
 * after twenty lines, and the next write fails with EPIPE. That is the reader's choice, not an error, so the
 * command ends at once with exit code 0 and no stack trace. Any other stream error is left to crash loudly.
 *
 * Runtime: node.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
}
