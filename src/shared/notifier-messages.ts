/**
 * Messages a notifier process sends to the main process that started it: over `process.send` when it is a
 * Node child process, over `process.parentPort` when it is an Electron utility process.
 *
 * Runtime: common. They are reports only: the notifier's durable effects are already in the shared store when
 * it sends them, so a message lost with a killed process loses nothing but a line on the dashboard.
 */
/**
 * What a notification could show: a plaintext event, a decrypted one, one whose room key had not arrived, a demo
 * event whose unencrypted to-device payload had not arrived, or an event that could not even be fetched.
 */
export type NotificationOutcome = 'plain' | 'decrypted' | 'unable-to-decrypt' | 'withheld' | 'data-missing' | 'fetch-failed';

export type NotifierMessage =
  | { kind: 'started'; pid: number; eventId: string; roomId: string }
  | {
      kind: 'notification';
      pid: number;
      eventId: string;
      title: string;
      body: string;
      /** True when the to-device data the event needs (its room key) had not arrived; the body says so. */
      dataMissing: boolean;
      outcome: NotificationOutcome;
    }
  | { kind: 'finished'; pid: number; outcome: string; committedEvents: number; elapsedMs: number }
  | { kind: 'failed'; pid: number; error: string };

export function isNotifierMessage(value: unknown): value is NotifierMessage {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return kind === 'started' || kind === 'notification' || kind === 'finished' || kind === 'failed';
}
