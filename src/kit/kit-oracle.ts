/**
 * The kit's oracle: given the tags a client under test reports it handled (read however the test reads them:
 * the DOM, a log, an IPC call), the verdict against what the server accepted and what it deleted.
 *
 * Runtime: node. `judgeHandled` is a pure function (unit-tested on synthetic data); the oracle object adds the
 * server's inspection and the run's seed and fault timeline. Definitions, per recipient device:
 * - lost: accepted by the server (the sender got 200), never handled, and no longer queued: the server deleted
 *   it because the device acknowledged past it. The server will never deliver it again.
 * - pending: accepted, never handled, still queued: the server would still deliver it; not (yet) a loss.
 * - duplicated: handled more than once (each tag is one message; to-device messages carry no other identity).
 * - reordered: a first handling that came after the first handling of a later message of the same sender
 *   (a duplicate is counted as a duplicate, not again as reordered).
 * - unknown: a handled tag the server never accepted from this run's sender; a client or test bug.
 * The verdict is clean when nothing is lost, pending, duplicated, reordered or unknown.
 */
import type { DeviceRef, KitInspection } from './kit-homeserver';
import type { KitRun } from './kit-run';
import type { SentMessage } from './kit-sender';

const maxListedTags = 20;
const pollIntervalMs = 100;

export interface Verdict {
  /** True when nothing is lost, pending, duplicated, reordered or unknown. */
  ok: boolean;
  accepted: number;
  handledOnce: number;
  lost: string[];
  pending: string[];
  duplicated: Array<{ tag: string; times: number }>;
  reordered: string[];
  unknown: string[];
  /** The server's counters for each recipient device judged. */
  server: Array<DeviceRef & KitInspection>;
  seed: number;
  /** A readable summary: counts, the tags involved, the server's counters, the seed and the fault timeline. */
  message: string;
}

export interface JudgeOptions {
  /**
   * Judge only the messages sent to this device. Default: every recipient of the run. A room key shared with several devices has one tag
   * (`room-key:<session_id>`) for all of them, so judging it needs a recipient: without one, that is an error.
   */
  recipient?: DeviceRef;
}

export interface WaitOptions extends JudgeOptions {
  /** Give up waiting after this long and judge what there is. Default 15000. */
  timeoutMs?: number;
}

export interface KitOracle {
  readonly seed: number;
  /** Adds a line to the fault timeline (`oracle.note('page reload')`), so a verdict shows when the test did it. */
  note(what: string): void;
  /** The verdict for `handled` (every handling, in handling order; a tag twice for a duplicate). */
  judge(handled: readonly string[], options?: JudgeOptions): Promise<Verdict>;
  /** Waits until every accepted message was handled at least once, or `timeoutMs`; then judges. Never throws for the verdict. */
  waitForHandled(readHandled: () => readonly string[] | Promise<readonly string[]>, options?: WaitOptions): Promise<Verdict>;
  /** Judges and throws an Error whose message is the verdict's message unless the verdict is clean. */
  expectExactlyOnce(handled: readonly string[], options?: JudgeOptions): Promise<Verdict>;
}

type ServerState = Array<DeviceRef & KitInspection>;

/** The verdict's facts, without the server counters' I/O. */
export function judgeHandled(
  sent: readonly SentMessage[],
  handled: readonly string[],
  server: ServerState,
  recipient?: DeviceRef,
): Omit<Verdict, 'server' | 'seed' | 'message'> {
  const judged = recipient === undefined ? sent : sent.filter((message) => sameDevice(message.to, recipient));
  const byTag = new Map<string, SentMessage>();
  for (const message of judged) {
    // A room key's tag names its session, and one session is shared with every recipient device: a handled tag
    // then says nothing about which device handled it.
    if (byTag.has(message.tag)) throw new Error(`todevice kit: tag ${message.tag} was sent to more than one device; judge each device with { recipient }`);
    byTag.set(message.tag, message);
  }
  const queuedDigests = new Set(server.flatMap((device) => device.queued.flatMap((row) => (row.ciphertextDigest === undefined ? [] : [row.ciphertextDigest]))));
  const queuedTags = new Set(server.flatMap((device) => device.queued.flatMap((row) => (row.tag === undefined ? [] : [row.tag]))));
  // An encrypted message's tag is inside its ciphertext: it is queued when its ciphertext is.
  for (const message of judged) if (message.ciphertextDigest !== undefined && queuedDigests.has(message.ciphertextDigest)) queuedTags.add(message.tag);
  const times = new Map<string, number>();
  const highestN = new Map<string, number>();
  const reordered: string[] = [];
  const unknown: string[] = [];
  for (const tag of handled) {
    const message = byTag.get(tag);
    if (message === undefined) {
      // With a recipient given, a tag of another recipient is simply not judged here.
      if (!sent.some((other) => other.tag === tag)) unknown.push(tag);
      continue;
    }
    const seen = times.get(tag) ?? 0;
    times.set(tag, seen + 1);
    if (seen > 0) continue;
    const stream = `${message.sender}\u0000${message.to.userId}\u0000${message.to.deviceId}`;
    if (message.n < (highestN.get(stream) ?? 0)) reordered.push(tag);
    highestN.set(stream, Math.max(highestN.get(stream) ?? 0, message.n));
  }
  const neverHandled = judged.filter((message) => !times.has(message.tag)).map((message) => message.tag);
  const lost = neverHandled.filter((tag) => !queuedTags.has(tag));
  const pending = neverHandled.filter((tag) => queuedTags.has(tag));
  const duplicated = [...times].filter(([, n]) => n > 1).map(([tag, n]) => ({ tag, times: n }));
  const ok = lost.length === 0 && pending.length === 0 && duplicated.length === 0 && reordered.length === 0 && unknown.length === 0;
  return { ok, accepted: judged.length, handledOnce: times.size, lost, pending, duplicated, reordered, unknown };
}

/** The readable message of a verdict. */
export function describeVerdict(facts: Omit<Verdict, 'message'>, sent: readonly SentMessage[], timeline: readonly string[]): string {
  const headline = facts.ok
    ? `todevice oracle: all ${facts.accepted} accepted messages handled exactly once, in order (seed ${facts.seed})`
    : `todevice oracle: ${facts.lost.length} lost, ${facts.pending.length} pending, ${facts.duplicated.length} duplicated, ` +
      `${facts.reordered.length} reordered, ${facts.unknown.length} unknown, of ${facts.accepted} accepted (seed ${facts.seed})`;
  const lines = [headline];
  const list = (label: string, tags: readonly string[]): void => {
    if (tags.length === 0) return;
    const more = tags.length > maxListedTags ? `, ... ${tags.length - maxListedTags} more` : '';
    lines.push(`  ${label}: ${tags.slice(0, maxListedTags).join(', ')}${more}`);
  };
  list('lost (the server deleted them, the client never handled them)', facts.lost);
  list('pending (still queued on the server, not handled yet)', facts.pending);
  list('duplicated', facts.duplicated.map((row) => `${row.tag} x${row.times}`));
  list('reordered (first handled after a later message of the same sender)', facts.reordered);
  list('unknown (handled, never accepted from this run)', facts.unknown);
  const senders = new Map<number, DeviceRef>();
  for (const message of sent) senders.set(message.sender, message.from);
  if (senders.size > 0) lines.push(`  senders: ${[...senders].map(([index, from]) => `s${index} = ${from.userId}/${from.deviceId}`).join(', ')}`);
  for (const device of facts.server) {
    lines.push(
      `  server, ${device.userId}/${device.deviceId}: accepted ${device.accepted}, delivered ${device.delivered}, ` +
        `deleted ${device.deleted}, queued ${device.queued.length}, acknowledged up to stream ${device.acknowledged}`,
    );
  }
  lines.push('  timeline:', ...timeline.map((line) => `    ${line}`));
  lines.push(`  replay the same random choices with TODEVICE_SEED=${facts.seed}`);
  return lines.join('\n');
}

export function kitOracle(run: KitRun, sent: () => readonly SentMessage[], inspect: (device: DeviceRef) => Promise<KitInspection>): KitOracle {
  const judge = async (handled: readonly string[], options: JudgeOptions = {}): Promise<Verdict> => {
    const log = sent();
    const recipients = options.recipient === undefined ? uniqueDevices(log.map((message) => message.to)) : [options.recipient];
    const server: ServerState = [];
    for (const device of recipients) server.push({ userId: device.userId, deviceId: device.deviceId, ...(await inspect(device)) });
    const facts = { ...judgeHandled(log, handled, server, options.recipient), server, seed: run.seed };
    return { ...facts, message: describeVerdict(facts, log, run.describeTimeline()) };
  };
  return {
    seed: run.seed,
    note: (what) => run.record('note', what),
    judge,
    waitForHandled: async (readHandled, options = {}) => {
      const deadline = Date.now() + (options.timeoutMs ?? 15_000);
      for (;;) {
        const handled = new Set(await readHandled());
        const waiting = sent().filter((message) => (options.recipient === undefined || sameDevice(message.to, options.recipient)) && !handled.has(message.tag));
        if (waiting.length === 0 || Date.now() >= deadline) return judge(await readHandled(), options);
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    },
    expectExactlyOnce: async (handled, options) => {
      const verdict = await judge(handled, options);
      if (!verdict.ok) throw new Error(verdict.message);
      return verdict;
    },
  };
}

function sameDevice(a: DeviceRef, b: DeviceRef): boolean {
  return a.userId === b.userId && a.deviceId === b.deviceId;
}

function uniqueDevices(devices: readonly DeviceRef[]): DeviceRef[] {
  const seen = new Map<string, DeviceRef>();
  for (const device of devices) seen.set(`${device.userId}\u0000${device.deviceId}`, { userId: device.userId, deviceId: device.deviceId });
  return [...seen.values()];
}
