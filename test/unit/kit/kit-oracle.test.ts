// The kit's oracle on synthetic send logs and server states: lost (deleted, never handled) versus pending
// (still queued), duplicates, reordering per sender and recipient, unknown tags, and the readable message.
import { describe, expect, it } from 'vitest';
import type { KitInspection } from '../../../src/kit/kit-homeserver';
import { describeVerdict, judgeHandled } from '../../../src/kit/kit-oracle';
import { chooseSeed, KitRun } from '../../../src/kit/kit-run';
import type { SentMessage } from '../../../src/kit/kit-sender';

const web = { userId: '@alice:localhost', deviceId: 'WEB' };
const phone = { userId: '@alice:localhost', deviceId: 'PHONE' };
const bob = { userId: '@bob:localhost', deviceId: 'SENDER' };

function sentTo(to: typeof web, sender: number, count: number, firstN = 1): SentMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    tag: `s${sender}-${firstN + i}`,
    sender,
    n: firstN + i,
    from: bob,
    to,
    type: 'org.todevice.test',
    kind: 'to-device' as const,
    encrypted: false,
    ciphertextDigest: undefined,
    sentAtMs: 1000 + i,
  }));
}

function server(device: typeof web, queuedTags: string[]): Array<typeof web & KitInspection> {
  const queued = queuedTags.map((tag, i) => ({ streamId: 10 + i, type: 'org.todevice.test', sender: bob.userId, tag, ciphertextDigest: undefined }));
  return [{ ...device, queued, acknowledged: 9, accepted: 12, delivered: 12, deleted: 12 - queued.length, waitingPolls: 0 }];
}

describe('kit oracle: judgeHandled', () => {
  it('kit oracle: every accepted tag handled once in order is a clean verdict', () => {
    const sent = sentTo(web, 0, 5);
    const facts = judgeHandled(sent, sent.map((m) => m.tag), server(web, []));
    expect(facts).toMatchObject({ ok: true, accepted: 5, handledOnce: 5, lost: [], pending: [], duplicated: [], reordered: [], unknown: [] });
  });

  it('kit oracle: a tag never handled is lost when the server deleted it, pending while it is still queued', () => {
    const sent = sentTo(web, 0, 4);
    const facts = judgeHandled(sent, ['s0-1', 's0-3'], server(web, ['s0-4']));
    expect(facts.lost).toEqual(['s0-2']);
    expect(facts.pending).toEqual(['s0-4']);
    expect(facts.ok).toBe(false);
  });

  it('kit oracle: an encrypted message is pending while its ciphertext is queued (the server cannot read its tag), lost once deleted', () => {
    const sent = sentTo(web, 0, 3).map((message, i) => ({ ...message, encrypted: true, ciphertextDigest: `digest-${i + 1}` }));
    const queued = [{ streamId: 12, type: 'm.room.encrypted', sender: bob.userId, tag: undefined, ciphertextDigest: 'digest-3' }];
    const facts = judgeHandled(sent, ['s0-1'], [{ ...web, queued, acknowledged: 11, accepted: 3, delivered: 3, deleted: 2, waitingPolls: 0 }]);
    expect(facts.lost).toEqual(['s0-2']);
    expect(facts.pending).toEqual(['s0-3']);
  });

  it('kit oracle: a room key tag sent to two devices must be judged per device, and is judged there', () => {
    const key = (to: typeof web): SentMessage => ({ ...sentTo(to, 0, 1)[0]!, tag: 'room-key:S1', kind: 'room-key', type: 'm.room_key', encrypted: true, ciphertextDigest: `d-${to.deviceId}` });
    const sent = [key(web), { ...key(phone), n: 2 }];
    expect(() => judgeHandled(sent, ['room-key:S1'], [...server(web, []), ...server(phone, [])])).toThrow(
      'todevice kit: tag room-key:S1 was sent to more than one device; judge each device with { recipient }',
    );
    expect(judgeHandled(sent, ['room-key:S1'], server(web, []), web)).toMatchObject({ ok: true, handledOnce: 1 });
    expect(judgeHandled(sent, [], server(phone, []), phone).lost).toEqual(['room-key:S1']);
  });

  it('kit oracle: a second handling is a duplicate, not also a reordering', () => {
    const sent = sentTo(web, 0, 3);
    const facts = judgeHandled(sent, ['s0-1', 's0-2', 's0-3', 's0-1', 's0-2', 's0-1'], server(web, []));
    expect(facts.duplicated).toEqual([
      { tag: 's0-1', times: 3 },
      { tag: 's0-2', times: 2 },
    ]);
    expect(facts.reordered).toEqual([]);
  });

  it('kit oracle: order is judged per sender and recipient; interleaving two senders is not reordering', () => {
    const sent = [...sentTo(web, 0, 3), ...sentTo(web, 1, 3)];
    expect(judgeHandled(sent, ['s1-1', 's0-1', 's1-2', 's0-2', 's0-3', 's1-3'], server(web, [])).reordered).toEqual([]);
    expect(judgeHandled(sent, ['s0-1', 's0-3', 's0-2', 's1-1', 's1-2', 's1-3'], server(web, [])).reordered).toEqual(['s0-2']);
  });

  it('kit oracle: with a recipient, only its messages are judged, and another recipient\'s tag is not unknown', () => {
    const sent = [...sentTo(web, 0, 2), ...sentTo(phone, 0, 2, 3)];
    const facts = judgeHandled(sent, ['s0-1', 's0-2', 's0-3'], server(web, []), web);
    expect(facts).toMatchObject({ ok: true, accepted: 2, unknown: [] });
    expect(judgeHandled(sent, ['s0-1', 's0-2', 's7-1'], server(web, []), web).unknown).toEqual(['s7-1']);
  });

  it('kit oracle: the message names the counts, the tags, the server counters, the seed and the timeline', () => {
    const sent = sentTo(web, 0, 3);
    const state = server(web, []);
    const facts = { ...judgeHandled(sent, ['s0-1', 's0-1'], state), server: state, seed: 42 };
    const message = describeVerdict(facts, sent, ['+10 ms drop-response: drop the next 2 sync response(s)']);
    expect(message.split('\n')[0]).toBe('todevice oracle: 2 lost, 0 pending, 1 duplicated, 0 reordered, 0 unknown, of 3 accepted (seed 42)');
    expect(message).toContain('lost (the server deleted them, the client never handled them): s0-2, s0-3');
    expect(message).toContain('duplicated: s0-1 x2');
    expect(message).toContain('s0 = @bob:localhost/SENDER');
    expect(message).toContain('server, @alice:localhost/WEB: accepted 12, delivered 12, deleted 12, queued 0, acknowledged up to stream 9');
    expect(message).toContain('    +10 ms drop-response: drop the next 2 sync response(s)');
    expect(message).toContain('TODEVICE_SEED=42');
  });
});

describe('kit run: seed and timeline', () => {
  it('kit run: the same seed draws the same numbers; a bad seed is a one-line error', () => {
    const draws = (seed: number): number[] => {
      const run = new KitRun(seed);
      return [run.random(), run.random(), run.random()];
    };
    expect(draws(7)).toEqual(draws(7));
    expect(draws(7)).not.toEqual(draws(8));
    expect(() => new KitRun(-1)).toThrow(/seed must be an integer in \[0, 2\^32\), got -1/);
    expect(chooseSeed('123')).toBe(123);
    expect(() => chooseSeed('abc')).toThrow('TODEVICE_SEED must be an integer in [0, 2^32), got "abc"');
  });

  it('kit run: the timeline is bounded and says how many events it left out', () => {
    const run = new KitRun(1);
    expect(run.describeTimeline()).toEqual(['(no faults injected)']);
    for (let i = 0; i < 520; i += 1) run.record('note', `event ${i}`);
    const lines = run.describeTimeline();
    expect(lines).toHaveLength(501);
    expect(lines.at(-1)).toBe('(20 later events left out)');
  });
});
