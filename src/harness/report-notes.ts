/**
 * Turns what a strategy run left in its logs (failed sends, notifier errors, faults that could not be injected,
 * the main process's stderr, the homeserver's log) into a few sentences a reader can act on, and keeps the raw
 * lines apart as diagnostics for whoever digs further.
 *
 * Runtime: node (pure). The sentences are the report's `notes` (shown in the HTML report's main view); the raw
 * lines are its `diagnostics` (shown collapsed). Lines that only echo what the harness did on purpose, such as
 * the homeserver acknowledging each fault the injector armed, are counted in one sentence, not repeated.
 */
import type { LoopDelaySummary } from './loop-delay';

export interface NoteSources {
  /** Sends the harness's senders gave up on. */
  sendFailures: readonly string[];
  /** `notifier exit …` lines of notifier runs that failed (not the ones the harness killed). */
  notifierFailures: readonly string[];
  /** Faults of the schedule the injector could not arm. */
  injectorErrors: readonly string[];
  /** Times the main process exited with an error and was restarted (not the harness's kills). */
  mainFailedExits: number;
  /** The event log was trimmed between two reads of the checker. */
  eventLogGap: boolean;
  mainStderrTail: readonly string[];
  serverLog: readonly string[];
  /** How late the harness's event loop, which runs the homeserver, ran during the faults (loop-delay.ts). */
  harnessLoopDelay?: LoopDelaySummary;
}

/** A harness event loop late by more than this at the 99th percentile is worth a sentence. */
const LOOP_DELAY_NOTE_P99_MS = 50;

export interface RunNotes {
  notes: string[];
  diagnostics: string[];
}

const rawLinesPerSource = 20;

export function summarizeRunNotes(sources: NoteSources): RunNotes {
  const notes: string[] = [];
  if (sources.sendFailures.length > 0) {
    notes.push(`${count(sources.sendFailures.length, 'send')} failed even after retries and ${sources.sendFailures.length === 1 ? 'is' : 'are'} not counted as sent (first: ${quote(sources.sendFailures[0])}).`);
  }
  if (sources.notifierFailures.length > 0) {
    notes.push(`${count(sources.notifierFailures.length, 'notifier run')} exited with an error rather than by a planned kill; most often: ${quote(mostCommon(sources.notifierFailures.map(stripExit)))}.`);
  }
  if (sources.injectorErrors.length > 0) {
    notes.push(`${count(sources.injectorErrors.length, 'scheduled fault')} could not be injected, so fewer faults landed than planned.`);
  }
  if (sources.mainFailedExits > 0) notes.push(`The main process exited with an error ${times(sources.mainFailedExits)} and was restarted.`);
  if (sources.eventLogGap) notes.push('The event log was trimmed between two reads, so the wasted-request counts are lower bounds.');
  const delay = sources.harnessLoopDelay;
  if (delay !== undefined && delay.p99Ms > LOOP_DELAY_NOTE_P99_MS) {
    notes.push(
      `The harness's event loop, which also runs the homeserver, was late by ${delay.p50Ms} ms at the median, ${delay.p99Ms} ms at the 99th percentile and ${delay.maxMs} ms at most during the faults (a busy machine): every server answer waited that long too, under every strategy.`,
    );
  }
  notes.push(...serverNotes(sources.serverLog));
  const errors = sources.mainStderrTail.filter((line) => /error|fail|unexpected/i.test(line));
  if (errors.length > 0) notes.push(`The main process reported ${count(errors.length, 'problem')} on stderr; last: ${quote(errors.at(-1))}.`);
  return { notes, diagnostics: diagnostics(sources) };
}

/** What the homeserver's log says, minus the echo of the faults the harness armed on purpose. */
function serverNotes(lines: readonly string[]): string[] {
  const notes: string[] = [];
  const armed = lines.filter((line) => line.startsWith('admin: fault '));
  if (armed.length > 0) {
    const kinds = new Map<string, number>();
    for (const line of armed) kinds.set(faultLabel(line), (kinds.get(faultLabel(line)) ?? 0) + 1);
    const list = [...kinds.entries()].map(([label, n]) => `${n} ${label}`).join(', ');
    notes.push(`The homeserver armed the ${count(armed.length, 'fault')} the schedule planned on the device's sync requests (${list}); nothing unexpected.`);
  }
  const pushRetries = lines.filter((line) => /^push: attempt \d+\/\d+ .* failed/.test(line));
  if (pushRetries.length > 0) notes.push(`${count(pushRetries.length, 'push')} to the push gateway had to be retried (the gateway was busy or restarting).`);
  const removed = lines.filter((line) => /rejected pushkey .* pusher removed/.test(line));
  if (removed.length > 0) notes.push(`The push gateway rejected a pushkey ${times(removed.length)}; the homeserver removed that pusher, so later pushes did not reach it.`);
  const unexpected = lines.filter((line) => /unexpected error|failed to answer/.test(line));
  if (unexpected.length > 0) notes.push(`The homeserver hit ${count(unexpected.length, 'unexpected error')} answering requests; see the raw lines.`);
  const other = lines.length - armed.length - pushRetries.length - removed.length - unexpected.length;
  if (other > 0) notes.push(`The homeserver logged ${count(other, 'other line')}; see the raw lines.`);
  return notes;
}

function diagnostics(sources: NoteSources): string[] {
  const raw = (prefix: string, lines: readonly string[]): string[] => lines.slice(-rawLinesPerSource).map((line) => `${prefix}: ${line}`);
  return [
    ...raw('send', sources.sendFailures),
    ...raw('notifier', sources.notifierFailures),
    ...raw('injector', sources.injectorErrors),
    ...raw('main stderr', sources.mainStderrTail),
    ...sources.serverLog.slice(0, rawLinesPerSource).map((line) => `homeserver: ${line}`),
  ];
}

/** `admin: fault {"kind":"error","count":2,"status":429} for @phone:localhost PHONE` → `error 429`. */
function faultLabel(line: string): string {
  const json = /^admin: fault (\{.*\}) for /.exec(line)?.[1];
  let fault: { kind?: unknown; status?: unknown } = {};
  try {
    fault = json === undefined ? {} : (JSON.parse(json) as typeof fault);
  } catch {
    return 'other';
  }
  switch (fault.kind) {
    case 'drop-response':
      return 'dropped response';
    case 'error':
      return `error ${String(fault.status)}`;
    case 'expire-pos':
      return 'connection reset (M_UNKNOWN_POS)';
    case 'delay':
      return 'delayed response';
    default:
      return String(fault.kind ?? 'other');
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}

function quote(line: string | undefined): string {
  const text = (line ?? '').trim();
  return `"${text.length > 120 ? `${text.slice(0, 117)}...` : text}"`;
}

function stripExit(line: string): string {
  return line.replace(/^notifier exit \S+:\s*/, '');
}

function mostCommon(lines: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}
