// The session ID read from a pre-key message (src/crypto/olm-prekey-session-id.ts) against libolm's own answer,
// and the decryption that uses it: a pre-key message goes to the session it belongs to among several, and a
// message not in libolm's own form still decrypts through libolm's matching.
import { afterEach, describe, expect, it } from 'vitest';
import { decryptToDeviceBatch } from '../../../src/crypto/olm-decrypt';
import { loadOlm, olm, type OlmSession } from '../../../src/crypto/olm-library';
import { preKeyMessageSessionId, PreKeySessionIds } from '../../../src/crypto/olm-prekey-session-id';
import type { ToDeviceEvent } from '../../../src/shared/wire';
import { olmSessionsFor } from '../../../src/store/olm-sessions';
import { LibolmPeer, ourDevice } from './olm-fixture';

const freed: Array<{ free(): void }> = [];
afterEach(() => {
  for (const object of freed.splice(0)) object.free();
});

/** Two libolm accounts, and a pre-key message from the first to the second on a new outbound session. */
async function preKeyPair(): Promise<{ senderKey: string; recipientKey: string; body: string; inbound: OlmSession; outbound: OlmSession }> {
  await loadOlm();
  const O = olm();
  const alice = new O.Account();
  const bob = new O.Account();
  const outbound = new O.Session();
  const inbound = new O.Session();
  freed.push(inbound, outbound, bob, alice);
  alice.create();
  bob.create();
  bob.generate_one_time_keys(1);
  const senderKey = (JSON.parse(alice.identity_keys()) as { curve25519: string }).curve25519;
  const recipientKey = (JSON.parse(bob.identity_keys()) as { curve25519: string }).curve25519;
  const oneTimeKey = Object.values((JSON.parse(bob.one_time_keys()) as { curve25519: Record<string, string> }).curve25519)[0] as string;
  outbound.create_outbound(alice, recipientKey, oneTimeKey);
  const message = outbound.encrypt('x'.repeat(300));
  expect(message.type).toBe(0);
  inbound.create_inbound_from(bob, senderKey, message.body);
  return { senderKey, recipientKey, body: message.body, inbound, outbound };
}

function unpadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** The pre-key message `body` with its three key fields in another order (libolm reads any order). */
function withKeyFieldsReordered(body: string): string {
  const bytes = Buffer.from(body, 'base64');
  const field = (index: number) => bytes.subarray(1 + index * 34, 1 + (index + 1) * 34);
  return unpadded(Buffer.concat([bytes.subarray(0, 1), field(2), field(0), field(1), bytes.subarray(1 + 3 * 34)]));
}

describe('olm pre-key session ID', () => {
  it('olm pre-key: the ID read from the message is the ID of the inbound session libolm creates from it, and of the sender', async () => {
    const pair = await preKeyPair();
    expect(preKeyMessageSessionId(pair.senderKey, pair.body)).toBe(pair.inbound.session_id());
    expect(pair.inbound.session_id()).toBe(pair.outbound.session_id());
    // A later pre-key message of the same session names the same session.
    const later = pair.outbound.encrypt('later');
    expect(preKeyMessageSessionId(pair.senderKey, later.body)).toBe(pair.inbound.session_id());
    expect(pair.inbound.matches_inbound_from(pair.senderKey, later.body)).toBe(true);
  });

  it('olm pre-key: a message whose identity key is not the sender key names no session (libolm matches none either)', async () => {
    const pair = await preKeyPair();
    expect(preKeyMessageSessionId(pair.recipientKey, pair.body)).toBeUndefined();
    expect(pair.inbound.matches_inbound_from(pair.recipientKey, pair.body)).toBe(false);
  });

  it('olm pre-key: a message that does not start as libolm writes one names no session, so libolm is asked instead', async () => {
    const pair = await preKeyPair();
    const bytes = Buffer.from(pair.body, 'base64');
    const otherVersion = Buffer.from(bytes);
    otherVersion[0] = 2;
    const variants = {
      padded: `${pair.body}${'='.repeat((4 - (pair.body.length % 4)) % 4 || 4)}`,
      base64urlInTheKeys: `${pair.body.slice(0, 10)}-${pair.body.slice(11)}`,
      withSpace: `${pair.body.slice(0, 10)} ${pair.body.slice(10)}`,
      oneCharacterOver: `${pair.body}${'A'.repeat((5 - (pair.body.length % 4)) % 4)}`,
      truncated: unpadded(bytes.subarray(0, bytes.length - 3)),
      trailingByte: unpadded(Buffer.concat([bytes, Buffer.from([0])])),
      otherVersion: unpadded(otherVersion),
      reordered: withKeyFieldsReordered(pair.body),
      empty: '',
    };
    for (const [name, body] of Object.entries(variants)) {
      expect(preKeyMessageSessionId(pair.senderKey, body), name).toBeUndefined();
    }
    // libolm still matches the reordered message: the fallback must be there for it.
    expect(pair.inbound.matches_inbound_from(pair.senderKey, variants.reordered)).toBe(true);
  });

  it('olm pre-key: of two sessions with one sender, a pre-key message decrypts on its own, and no session is added', async () => {
    const device = await ourDevice();
    const peer = new LibolmPeer();
    freed.push(peer);
    peer.makeKnownTo(device.store);
    const decrypt = (events: ToDeviceEvent[]) =>
      decryptToDeviceBatch({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs: 2000 }, events);
    peer.startSession(device.identity, device.server.claim());
    const firstA = peer.encrypt(device.identity, 'm.test', { n: 'a1' });
    const secondA = peer.encrypt(device.identity, 'm.test', { n: 'a2' });
    const thirdA = peer.encrypt(device.identity, 'm.test', { n: 'a3' });
    peer.startSession(device.identity, device.server.claim());
    const firstB = peer.encrypt(device.identity, 'm.test', { n: 'b1' });
    expect(decrypt([firstA, firstB]).map((row) => row.content)).toEqual([{ n: 'a1' }, { n: 'b1' }]);
    expect(olmSessionsFor(device.store, peer.curve25519)).toHaveLength(2);

    // The most recently used session is B; the message is A's.
    const [row] = decrypt([secondA]);
    expect(row?.content).toEqual({ n: 'a2' });
    const sessions = olmSessionsFor(device.store, peer.curve25519);
    expect(sessions).toHaveLength(2);
    expect(sessions.find((session) => session.sessionId === row?.encryption?.session_id)?.messagesReceived).toBe(2);

    // The same session's next message with its key fields reordered goes through libolm's matching, to A too.
    const body = (thirdA.content.ciphertext as Record<string, { type: 0; body: string }>)[device.identity.curve25519]?.body ?? '';
    const reordered = { ...thirdA, content: { ...thirdA.content, ciphertext: { [device.identity.curve25519]: { type: 0, body: withKeyFieldsReordered(body) } } } };
    const [again] = decrypt([reordered]);
    expect(again?.content).toEqual({ n: 'a3' });
    expect(again?.encryption?.session_id).toBe(row?.encryption?.session_id);
    expect(olmSessionsFor(device.store, peer.curve25519)).toHaveLength(2);
  });

  it('olm pre-key: the per-pass cache answers as the function does, for messages that share their key fields and differ after them', async () => {
    const pair = await preKeyPair();
    const later = [pair.body, ...['a', 'b'.repeat(200), 'c'.repeat(5000)].map((text) => pair.outbound.encrypt(text).body)];
    const bytes = Buffer.from(pair.body, 'base64');
    const otherTag = Buffer.from(bytes);
    otherTag[103] = 0x2a;
    const longerLength = Buffer.from(bytes);
    longerLength[104] = (longerLength[104] ?? 0) + 1;
    const otherIdentity = Buffer.from(bytes);
    otherIdentity[102] = (otherIdentity[102] ?? 0) ^ 1;
    const broken = [
      unpadded(otherTag),
      unpadded(longerLength),
      unpadded(bytes.subarray(0, bytes.length - 3)),
      unpadded(Buffer.concat([bytes, Buffer.from([0])])),
      `${pair.body.slice(0, 140)}-${pair.body.slice(141)}`,
      unpadded(otherIdentity),
    ];
    // Each order: the good messages first (a remembered ID must not leak to a broken tail), and the broken first.
    for (const bodies of [[...later, ...broken], [...broken, ...later]]) {
      const cache = new PreKeySessionIds();
      for (const body of bodies) {
        for (const senderKey of [pair.senderKey, pair.recipientKey]) {
          expect(cache.sessionId(senderKey, body)).toBe(preKeyMessageSessionId(senderKey, body));
        }
      }
    }
    // The good ones name the session; every broken one names none.
    for (const body of later) expect(preKeyMessageSessionId(pair.senderKey, body)).toBe(pair.inbound.session_id());
    for (const body of broken) expect(preKeyMessageSessionId(pair.senderKey, body)).toBeUndefined();
    // The shared prefix is what the cache keys on: the broken ones share it with the good ones (but the last).
    for (const body of broken.slice(0, -1)) expect(body.slice(0, 138)).toBe(pair.body.slice(0, 138));
  });
});
