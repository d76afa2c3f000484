/**
 * The black-box rules of to-device delivery with an explicit token (MSC3885, MSC4538), one case each, run
 * against any homeserver over HTTP. `todevice conformance` and the project's conformance suite run this same
 * list, so the rules the reference homeserver is tested by are the rules any server is checked by.
 *
 * Runtime: node. Each case gets devices of its own (`world.newRecipient()`), so cases never see each other's
 * messages, and the runner drains every device a case used (run-conformance.ts), so nothing stays queued.
 *
 * Verdicts: `pass`; `fail` when a rule the MSCs require does not hold; `deviation` where the MSCs leave a choice
 * (or only an error code differs) and the server chose otherwise, reported without failing the run. A case that
 * Synapse is known to answer differently names the difference in `synapseDifference` (DESIGN.md §3; what
 * `todevice serve --compat synapse` reproduces), so a reader can tell a known difference from a new one.
 */
import { TO_DEVICE_EXTENSION_MSC4538 } from '../shared/wire';
import type { ConformanceHttp, TestDevice } from './conformance-http';
import { describeAnswer, errcodeOf, numbersIn, toDeviceSection } from './conformance-http';

export type Verdict = 'pass' | 'fail' | 'deviation';

export interface CaseResult {
  verdict: Verdict;
  /** One sentence: what the server did. */
  detail: string;
}

export interface CaseWorld {
  http: ConformanceHttp;
  /** A device of the first account; it sends the test messages. */
  sender: TestDevice;
  /** A new device of the second account, with an empty queue. */
  newRecipient(): Promise<TestDevice>;
}

export interface ConformanceCase {
  /** Short name for `--only`. */
  id: string;
  /** The rule in one sentence. */
  rule: string;
  /** Where the rule comes from. */
  source: string;
  /** What Synapse (as of 2026-07) does instead, when it is known to differ. */
  synapseDifference?: string;
  run(world: CaseWorld): Promise<CaseResult>;
}

const pass = (detail: string): CaseResult => ({ verdict: 'pass', detail });
const fail = (detail: string): CaseResult => ({ verdict: 'fail', detail });
const deviation = (detail: string): CaseResult => ({ verdict: 'deviation', detail });

/** The numbers still queued for a device, read without acknowledging anything (no `since`). */
async function queuedNumbers(world: CaseWorld, device: TestDevice): Promise<unknown[]> {
  const answer = await world.http.slidingSync(device, { enabled: true, limit: 100 });
  return numbersIn(toDeviceSection(answer));
}

async function firstBatch(world: CaseWorld, device: TestDevice, extension: Record<string, unknown> = {}) {
  const answer = await world.http.slidingSync(device, { enabled: true, ...extension });
  const section = toDeviceSection(answer);
  return { answer, section, nextBatch: typeof section?.next_batch === 'string' ? section.next_batch : undefined };
}

const sameList = (a: unknown[], b: unknown[]): boolean => a.length === b.length && a.every((value, i) => value === b[i]);

/** The refusal MSC4538 asks for: 400 `M_INVALID_PARAM`; another 400 is a deviation, anything else a failure. */
function judgeRefusal(answer: { status: number; body: unknown }, what: string, extra = ''): CaseResult {
  if (answer.status === 400 && errcodeOf(answer) === 'M_INVALID_PARAM') return pass(`${what}: ${describeAnswer(answer)}${extra}`);
  if (answer.status === 400) return deviation(`${what}: ${describeAnswer(answer)} (MSC4538 names M_INVALID_PARAM)${extra}`);
  return fail(`${what}: ${describeAnswer(answer)}, not 400 M_INVALID_PARAM${extra}`);
}

export const TO_DEVICE_CASES: readonly ConformanceCase[] = [
  {
    id: 'empty-batch',
    rule: 'With nothing queued, an enabled extension answers a next_batch and no events.',
    source: "MSC3885; Synapse's test_no_data",
    async run(world) {
      const me = await world.newRecipient();
      const { answer, section, nextBatch } = await firstBatch(world, me);
      if (answer.status !== 200) return fail(`the request got ${describeAnswer(answer)}`);
      if (section === undefined) return deviation('the section was left out (MSC4538 allows it; the client then resends its since)');
      if (nextBatch === undefined) return fail('the section has no next_batch string');
      return numbersIn(section).length === 0 ? pass('next_batch present, no events') : fail('events came back for an empty queue');
    },
  },
  {
    id: 'initial-returns-queued',
    rule: 'A request without since returns what is queued, oldest first, and deletes nothing.',
    source: "MSC3885; Synapse's test_data_initial_sync",
    async run(world) {
      const me = await world.newRecipient();
      await world.http.sendNumbered(world.sender, me, 3);
      const first = numbersIn((await firstBatch(world, me)).section);
      const again = await queuedNumbers(world, me);
      if (!sameList(first, [0, 1, 2])) return fail(`expected [0,1,2], got [${first.join(',')}]`);
      if (!sameList(again, [0, 1, 2])) return fail(`a second request without since got [${again.join(',')}]: something was deleted`);
      return pass('[0,1,2] twice');
    },
  },
  {
    id: 'since-acknowledges',
    rule: 'Sending since acknowledges everything up to it: those messages are deleted and never returned again.',
    source: "MSC3885; Synapse's test_data_incremental_sync",
    async run(world) {
      const me = await world.newRecipient();
      await world.http.sendNumbered(world.sender, me, 2);
      const { nextBatch } = await firstBatch(world, me);
      if (nextBatch === undefined) return fail('no next_batch');
      await world.http.sendNumbered(world.sender, me, 1, 2);
      const second = numbersIn(toDeviceSection(await world.http.slidingSync(me, { enabled: true, since: nextBatch })));
      const fresh = await queuedNumbers(world, me);
      if (!sameList(second, [2])) return fail(`after since, expected [2], got [${second.join(',')}]`);
      if (!sameList(fresh, [2])) return fail(`acknowledged messages came back to a request without since: [${fresh.join(',')}]`);
      return pass('[2] after since; acknowledged messages gone');
    },
  },
  {
    id: 'retry-same-since',
    rule: 'A retry with the same since returns the same events first, in the same order.',
    source: 'MSC3885 (at-least-once delivery)',
    async run(world) {
      const me = await world.newRecipient();
      await world.http.sendNumbered(world.sender, me, 2);
      const { nextBatch } = await firstBatch(world, me);
      if (nextBatch === undefined) return fail('no next_batch');
      await world.http.sendNumbered(world.sender, me, 3, 2);
      const one = numbersIn(toDeviceSection(await world.http.slidingSync(me, { enabled: true, since: nextBatch })));
      const two = numbersIn(toDeviceSection(await world.http.slidingSync(me, { enabled: true, since: nextBatch })));
      if (!sameList(one, [2, 3, 4])) return fail(`expected [2,3,4], got [${one.join(',')}]`);
      if (!sameList(two.slice(0, one.length), one)) return fail(`the retry got [${two.join(',')}] after [${one.join(',')}]`);
      return pass('the retry got [2,3,4] again');
    },
  },
  {
    id: 'limit-respected',
    rule: 'Never more than limit events; the next batch continues where the last ended, in order.',
    source: 'MSC3885',
    async run(world) {
      const me = await world.newRecipient();
      await world.http.sendNumbered(world.sender, me, 5);
      const first = await firstBatch(world, me, { limit: 2 });
      const firstNumbers = numbersIn(first.section);
      if (first.nextBatch === undefined) return fail('no next_batch');
      const second = numbersIn(toDeviceSection(await world.http.slidingSync(me, { enabled: true, limit: 2, since: first.nextBatch })));
      if (!sameList(firstNumbers, [0, 1])) return fail(`limit 2 gave [${firstNumbers.join(',')}]`);
      if (!sameList(second, [2, 3])) return fail(`the next batch gave [${second.join(',')}], expected [2,3]`);
      return pass('[0,1] then [2,3]');
    },
  },
  {
    id: 'limit-zero-refused',
    rule: 'limit 0 is refused with 400 M_INVALID_PARAM and deletes nothing.',
    source: 'MSC4538',
    synapseDifference: 'limit 0 returns nothing and a next_batch that acknowledges everything queued',
    async run(world) {
      const me = await world.newRecipient();
      await world.http.sendNumbered(world.sender, me, 3);
      const answer = await world.http.slidingSync(me, { enabled: true, limit: 0 });
      if (answer.status === 200) {
        const nextBatch = toDeviceSection(answer)?.next_batch;
        if (typeof nextBatch !== 'string') return fail('limit 0 was accepted (200)');
        await world.http.slidingSync(me, { enabled: true, since: nextBatch });
        const left = await queuedNumbers(world, me);
        return fail(`limit 0 was accepted (200); its next_batch, sent back, left ${left.length} of 3 unseen messages queued`);
      }
      const left = await queuedNumbers(world, me);
      const extra = sameList(left, [0, 1, 2]) ? '' : `; but only [${left.join(',')}] are still queued`;
      return left.length === 3 ? judgeRefusal(answer, 'limit 0') : fail(`limit 0: ${describeAnswer(answer)}${extra}`);
    },
  },
  {
    id: 'limit-not-integer',
    rule: 'A limit that is not an integer is refused with 400 M_INVALID_PARAM.',
    source: 'MSC4538',
    synapseDifference: 'answers 400 M_BAD_JSON',
    async run(world) {
      const me = await world.newRecipient();
      return judgeRefusal(await world.http.slidingSync(me, { enabled: true, limit: 2.5 }), 'limit 2.5');
    },
  },
  {
    id: 'since-garbage',
    rule: 'A since the server could not have issued (garbage) is refused with 400 M_INVALID_PARAM and deletes nothing.',
    source: 'MSC4538',
    async run(world) {
      const me = await world.newRecipient();
      await world.http.sendNumbered(world.sender, me, 2);
      const answer = await world.http.slidingSync(me, { enabled: true, since: 'not-a-token' });
      const left = await queuedNumbers(world, me);
      if (left.length !== 2) return fail(`since "not-a-token": ${describeAnswer(answer)}, and ${2 - left.length} messages were deleted`);
      return judgeRefusal(answer, 'since "not-a-token"');
    },
  },
  {
    id: 'since-other-device',
    rule: "Another device's since is refused with 400 M_INVALID_PARAM and deletes nothing of this device's queue.",
    source: 'MSC4538',
    synapseDifference: "tokens are the global stream position, bound to no device: another device's since is accepted and acknowledges this device's messages up to it",
    async run(world) {
      const me = await world.newRecipient();
      const other = await world.newRecipient();
      await world.http.sendNumbered(world.sender, me, 2);
      await world.http.sendNumbered(world.sender, other, 1);
      const { nextBatch } = await firstBatch(world, other);
      if (nextBatch === undefined) return fail('no next_batch for the other device');
      const answer = await world.http.slidingSync(me, { enabled: true, since: nextBatch });
      const left = await queuedNumbers(world, me);
      if (left.length !== 2) {
        return fail(`another device's since: ${describeAnswer(answer)}, and ${2 - left.length} of this device's 2 unseen messages were deleted`);
      }
      return judgeRefusal(answer, "another device's since");
    },
  },
  {
    id: 'since-future',
    rule: 'A since from the future (beyond any position issued) is refused with 400 M_INVALID_PARAM.',
    source: 'MSC4538',
    synapseDifference: 'echoes it back as next_batch with no events (no 400)',
    async run(world) {
      const me = await world.newRecipient();
      const { nextBatch } = await firstBatch(world, me);
      if (nextBatch === undefined) return fail('no next_batch');
      if (!/^\d+$/.test(nextBatch)) {
        // An opaque token cannot be advanced by a client; "from the future" is then what another device's
        // token is to this one, which since-other-device checks.
        return pass('tokens are opaque, so a client cannot form one from the future (see since-other-device)');
      }
      const future = (BigInt(nextBatch) + 1_000_000_000n).toString();
      const answer = await world.http.slidingSync(me, { enabled: true, since: future });
      if (answer.status === 200 && toDeviceSection(answer)?.next_batch === future) {
        return fail('a since from the future was echoed back as next_batch with no events (200)');
      }
      return judgeRefusal(answer, 'a since from the future');
    },
  },
  {
    id: 'msc4538-key',
    rule: `The extension also answers under MSC4538's key ${TO_DEVICE_EXTENSION_MSC4538}.`,
    source: 'MSC4538',
    synapseDifference: 'knows only the to_device key',
    async run(world) {
      const me = await world.newRecipient();
      await world.http.sendNumbered(world.sender, me, 1);
      const answer = await world.http.slidingSync(me, { enabled: true }, { key: TO_DEVICE_EXTENSION_MSC4538 });
      const section = toDeviceSection(answer, TO_DEVICE_EXTENSION_MSC4538);
      if (answer.status !== 200) return deviation(`the request got ${describeAnswer(answer)}`);
      if (section === undefined) return deviation('no section under that key (a server without MSC4538)');
      return sameList(numbersIn(section), [0]) ? pass('answered under the MSC4538 key') : fail(`got [${numbersIn(section).join(',')}]`);
    },
  },
  {
    id: 'sticky-settings',
    rule: 'enabled and limit are sticky per connection (MSC3885); a server may instead read them from each request.',
    source: 'MSC3885 (Synapse: nothing sticky)',
    synapseDifference: 'nothing sticky: a request without the extension gets no to-device section',
    async run(world) {
      const me = await world.newRecipient();
      const first = await world.http.slidingSync(me, { enabled: true, limit: 1 }, { connId: 'sticky' });
      const pos = (first.body as { pos?: unknown } | undefined)?.pos;
      if (first.status !== 200 || typeof pos !== 'string') return fail(`the first request got ${describeAnswer(first)} without a pos`);
      await world.http.sendNumbered(world.sender, me, 2);
      const second = await world.http.slidingSync(me, undefined, { connId: 'sticky', pos });
      const section = toDeviceSection(second);
      if (second.status !== 200) return fail(`the request with pos got ${describeAnswer(second)}`);
      if (section === undefined) return deviation('nothing sticky: without the extension in the request, no to-device section');
      const got = numbersIn(section);
      return got.length <= 1 ? pass(`sticky: the section came with ${got.length} event(s) under the sticky limit 1`) : fail(`sticky limit 1 ignored: [${got.join(',')}]`);
    },
  },
  {
    id: 'long-poll-returns-at-once',
    rule: 'A long poll returns at once when messages are queued after since.',
    source: 'MSC4538',
    async run(world) {
      const me = await world.newRecipient();
      const first = await world.http.slidingSync(me, { enabled: true }, { connId: 'poll' });
      const pos = (first.body as { pos?: unknown } | undefined)?.pos;
      const nextBatch = toDeviceSection(first)?.next_batch;
      if (typeof pos !== 'string' || typeof nextBatch !== 'string') return fail(`the first request got ${describeAnswer(first)} without pos or next_batch`);
      await world.http.sendNumbered(world.sender, me, 1);
      const timeoutMs = 20_000;
      const startedMs = Date.now();
      const answer = await world.http.slidingSync(me, { enabled: true, since: nextBatch }, { connId: 'poll', pos, timeoutMs });
      const elapsedMs = Date.now() - startedMs;
      const got = numbersIn(toDeviceSection(answer));
      if (!sameList(got, [0])) return fail(`the long poll got ${describeAnswer(answer)} with [${got.join(',')}]`);
      // Half the timeout separates "at once" from "at the timeout" on any machine; the figure is reported.
      return elapsedMs < timeoutMs / 2 ? pass(`answered in ${elapsedMs} ms`) : fail(`answered only after ${elapsedMs} ms of a ${timeoutMs} ms poll`);
    },
  },
];
