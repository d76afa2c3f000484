/**
 * Background traffic for the app's demo: a few tagged to-device messages every few seconds and, now and then, a
 * room message whose push starts a notifier. It makes `npm start` show traffic flowing with no set-up; the
 * dashboard's controls add more on top. Tests leave it off, since they count exactly what they send.
 *
 * Runtime: node. One tick at a time (a slow homeserver never gets overlapping sends), stopped by `stop()`.
 */
import type { DemoTraffic } from './demo-traffic';

export interface AmbientTrafficOptions {
  intervalMs: number;
  messagesPerTick: number;
  /** Every this many ticks, one room message (a push). */
  pushEveryTicks: number;
  roomId: string;
  /** Sending starts once this settles (the host's reading of where this run starts). */
  ready?: Promise<unknown>;
  /** Called after each send with how many to-device messages went out (the room key of a push counts). */
  onSent: (count: number) => void;
  log: (line: string) => void;
}

export const DEFAULT_AMBIENT_TRAFFIC = { intervalMs: 2000, messagesPerTick: 3, pushEveryTicks: 8 };

export function startAmbientTraffic(traffic: DemoTraffic, options: AmbientTrafficOptions): { stop(): void } {
  let tick = 0;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    tick += 1;
    void Promise.resolve(options.ready)
      .then(() => sendTick(traffic, options, tick))
      .catch((error: unknown) => options.log(`ambient traffic: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  return { stop: () => clearInterval(timer) };
}

async function sendTick(traffic: DemoTraffic, options: AmbientTrafficOptions, tick: number): Promise<void> {
  const sent = await traffic.sendToDevice(options.messagesPerTick);
  options.onSent(sent.ok ? sent.value.sent : sent.error.sent);
  if (!sent.ok) options.log(`ambient traffic: send failed: ${sent.error.kind}`);
  if (tick % options.pushEveryTicks !== 0) return;
  const pushed = await traffic.sendRoomMessage(options.roomId, `Ambient message #${tick / options.pushEveryTicks}`);
  if (!pushed.ok) options.log(`ambient traffic: room message failed: ${pushed.error.kind}`);
  else if (pushed.value.keyTag !== null) options.onSent(1);
}
