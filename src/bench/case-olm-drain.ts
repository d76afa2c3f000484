/**
 * Case 7, Olm drain: what decrypting at commit costs. A backlog of `olmBacklog` Olm-encrypted `m.room_key`
 * to-device events drained by the main process's engine with the device's Olm state (src/device/olm-device.ts:
 * every batch decrypted inside its compare-and-set commit, sessions written back, replay hashes kept, room keys
 * sealed), in events per second, against the same engine draining the same number of plaintext events of about
 * the same size on a store without Olm.
 *
 * Fairness: both drains use `createProcessEngine` (explicit-lease, `synchronous` FULL, the same batch limit)
 * against the same homeserver process, each on its own device and store, with its backlog queued through the
 * homeserver's own queue while nobody polls (bench-world.ts). The Olm events are real: a libolm sender device
 * published its keys, claimed one of our one-time keys and encrypted every event on one outbound session, so
 * every event is a pre-key message (as a sender sends until it hears back from us), the expensive kind. What is
 * outside the clock on the Olm side: opening the device and publishing its keys, and the first event, which
 * teaches our device the sender (`unknown-device`, then `/keys/query`). The two drains alternate in rounds; the
 * figure is the round whose ratio is the median.
 *
 * Two further figures say where the time goes, both against the whole per-event cost of the plaintext drain (the
 * 0.5× target allows an Olm event exactly one such cost on top): the Olm cost added per event (from the same
 * rounds), and libolm's `Session.decrypt` alone of one pre-key message like the drain's, the part of that
 * allowance that is libolm's own work, which no store design removes.
 * That decryption is timed in this process after every round, on messages encrypted beforehand with the drain's
 * payload (the same fields and sizes), each one ratchet step on one existing inbound session, as in the drain;
 * nothing else is on the clock (no session lookup or match, no parse, no store). It is a mean over a thousand
 * back-to-back calls, as the drains' figures are means, and the figure is the median over the rounds.
 *
 * Runtime: node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { signedDeviceKeys } from '../crypto/olm-account';
import { verifyDeviceKeys } from '../crypto/olm-device-keys';
import { freeAll, loadOlm, olm, type OlmAccount, type OlmSession } from '../crypto/olm-library';
import { openOlmDevice } from '../device/olm-device';
import { createProcessEngine } from '../engine/create-engine';
import { OLM_ALGORITHM } from '../shared/olm-wire';
import { readOlmStats } from '../store/olm-stats';
import { openStore } from '../store/open-store';
import type { BenchWorld } from './bench-world';
import { benchContent } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { median, medianRound, nowMs, perSecond } from './stats';

const ROOM_KEY_TYPE = 'm.room_key';
const PLAIN_TYPE = 'org.todevice.bench';
const DECRYPT_SAMPLES = 1000;

interface OlmSender {
  userId: string;
  curve25519: string;
  ed25519: string;
  session: OlmSession;
  free(): void;
}

/** Registers a libolm sender, publishes its device keys and opens an outbound session with our device. */
async function olmSender(world: BenchWorld, name: string, recipient: { userId: string; deviceId: string }): Promise<OlmSender & { recipientCurve25519: string; recipientEd25519: string }> {
  const sender = await world.sender(name);
  const account = new (olm().Account)();
  account.create();
  const identity = JSON.parse(account.identity_keys()) as { curve25519: string; ed25519: string };
  const uploaded = await sender.client.uploadKeys({ device_keys: signedDeviceKeys(account, sender) });
  if (!uploaded.ok) throw new Error(`bench: ${name} could not upload its device keys`);
  const query = await sender.client.queryKeys({ device_keys: { [recipient.userId]: [] } });
  if (!query.ok) throw new Error(`bench: ${name} could not query the receiving device`);
  const theirs = verifyDeviceKeys(recipient.userId, recipient.deviceId, query.value.device_keys[recipient.userId]?.[recipient.deviceId]);
  if (!theirs.ok) throw new Error(`bench: the receiving device's keys: ${theirs.error}`);
  const claim = await sender.client.claimKeys({ one_time_keys: { [recipient.userId]: { [recipient.deviceId]: 'signed_curve25519' } } });
  if (!claim.ok) throw new Error(`bench: ${name} could not claim a one-time key`);
  const oneTimeKey = Object.values(claim.value.one_time_keys[recipient.userId]?.[recipient.deviceId] ?? {})[0] as { key?: string } | undefined;
  if (oneTimeKey?.key === undefined) throw new Error('bench: the receiving device had no one-time key to claim');
  const session: OlmSession = new (olm().Session)();
  session.create_outbound(account, theirs.value.curve25519, oneTimeKey.key);
  return {
    userId: sender.userId,
    curve25519: identity.curve25519,
    ed25519: identity.ed25519,
    session,
    recipientCurve25519: theirs.value.curve25519,
    recipientEd25519: theirs.value.ed25519,
    free: () => {
      session.free();
      account.free();
    },
  };
}

/** The Olm payload (plaintext JSON) of the n-th room key from `senderUserId` to `recipientUserId`. */
function roomKeyPayload(keys: { senderUserId: string; senderEd25519: string; recipientUserId: string; recipientEd25519: string }, n: number): string {
  const room = benchContent(n);
  return JSON.stringify({
    type: ROOM_KEY_TYPE,
    content: { algorithm: 'm.megolm.v1.aes-sha2', room_id: room.room_id, session_id: `olm-bench-session-${n}`, session_key: room.session_key },
    sender: keys.senderUserId,
    recipient: keys.recipientUserId,
    recipient_keys: { ed25519: keys.recipientEd25519 },
    keys: { ed25519: keys.senderEd25519 },
  });
}

/** The `m.room.encrypted` content of the n-th room key from `sender` to our device. */
function encryptedRoomKey(sender: OlmSender & { recipientCurve25519: string; recipientEd25519: string }, recipientUserId: string, n: number): Record<string, unknown> {
  const payload = roomKeyPayload({ senderUserId: sender.userId, senderEd25519: sender.ed25519, recipientUserId, recipientEd25519: sender.recipientEd25519 }, n);
  const message = sender.session.encrypt(payload);
  return { algorithm: OLM_ALGORITHM, sender_key: sender.curve25519, ciphertext: { [sender.recipientCurve25519]: { type: message.type, body: message.body } } };
}

/** One timed drain of `count` Olm-encrypted room keys; returns its duration in ms. */
async function olmDrain(world: BenchWorld, sizes: BenchSizes, round: number, count: number): Promise<number> {
  const account = await world.device(`OLM-DRAIN-${round}`);
  const dir = path.join(world.dir, `olm-drain-${round}`);
  fs.mkdirSync(dir, { recursive: true });
  const store = openStore(path.join(dir, 'client.db'), { synchronous: 'FULL' });
  const opened = await openOlmDevice({ store, account, strategy: 'explicit-lease', processName: 'main' });
  if (!opened.ok) throw new Error(`bench: ${opened.error}`);
  const device = opened.value;
  const { engine, client } = createProcessEngine({ store, account, processName: 'main', strategy: 'explicit-lease', env: {}, olm: device.engineHooks(), tuning: { limit: sizes.limit } });
  const published = await device.publish(client);
  if (published.kind !== 'published') {
    store.close();
    throw new Error(`bench: publishing the device's keys: ${published.kind}`);
  }
  const sender = await olmSender(world, `olm-bench-sender-${round}`, account);
  try {
    // Outside the clock: the first event makes our device learn the sender's keys.
    world.queueMessages(account.deviceId, [{ type: 'm.room.encrypted', sender: sender.userId, content: encryptedRoomKey(sender, account.userId, 0) }]);
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    await device.resolveUnknownDevices(client);
    const before = readOlmStats(store).decrypted;
    const messages = Array.from({ length: count }, (_, i) => ({ type: 'm.room.encrypted', sender: sender.userId, content: encryptedRoomKey(sender, account.userId, i + 1) }));
    world.queueMessages(account.deviceId, messages);
    const startedMs = nowMs();
    const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: 1000, maxBatches: Math.ceil(count / sizes.limit) + 10 });
    const elapsedMs = nowMs() - startedMs;
    const decrypted = readOlmStats(store).decrypted - before;
    if (summary.kind !== 'caught-up' || decrypted !== count) throw new Error(`bench: the Olm drain ended ${summary.kind} with ${decrypted} of ${count} events decrypted`);
    return elapsedMs;
  } finally {
    sender.free();
    store.close();
  }
}

/** The same drain of `count` plaintext events of about a room key's size, on a store without Olm. */
async function plainDrain(world: BenchWorld, sizes: BenchSizes, round: number, count: number): Promise<number> {
  const account = await world.device(`OLM-PLAIN-${round}`);
  const store = openStore(path.join(world.dir, `olm-plain-${round}.db`), { synchronous: 'FULL' });
  try {
    const { engine } = createProcessEngine({ store, account, processName: 'main', strategy: 'explicit-lease', env: {}, tuning: { limit: sizes.limit } });
    world.queueMessages(
      account.deviceId,
      Array.from({ length: count }, (_, i) => ({ type: PLAIN_TYPE, sender: `@olm-bench-plain:${world.server.serverName}`, content: benchContent(i) })),
    );
    const startedMs = nowMs();
    const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: 1000, maxBatches: Math.ceil(count / sizes.limit) + 10 });
    const elapsedMs = nowMs() - startedMs;
    if (summary.kind !== 'caught-up' || summary.events !== count) throw new Error(`bench: the plaintext drain ended ${summary.kind} with ${'events' in summary ? summary.events : 0} of ${count} events`);
    return elapsedMs;
  } finally {
    store.close();
  }
}

/**
 * libolm's `Session.decrypt` alone on pre-key messages like the drain's: `meanUs` encrypts `DECRYPT_SAMPLES` more
 * messages on one outbound session (before the clock starts), then times decrypting them back to back on one
 * inbound session, each message one ratchet step as in the drain, and returns the mean per message. A mean over
 * a run, like the drains' per-event figures, so a loaded machine weighs on it as it weighs on them.
 */
class LibolmDecryptTimer {
  private readonly alice: OlmAccount;
  private readonly bob: OlmAccount;
  private readonly outbound: OlmSession;
  private readonly inbound: OlmSession;
  private readonly keys: Parameters<typeof roomKeyPayload>[0];
  private sent = 0;

  constructor(senderUserId: string, recipientUserId: string) {
    const O = olm();
    this.alice = new O.Account();
    this.bob = new O.Account();
    this.outbound = new O.Session();
    this.inbound = new O.Session();
    this.alice.create();
    this.bob.create();
    this.bob.generate_one_time_keys(1);
    const bobKeys = JSON.parse(this.bob.identity_keys()) as { curve25519: string; ed25519: string };
    const aliceKeys = JSON.parse(this.alice.identity_keys()) as { curve25519: string; ed25519: string };
    const oneTimeKey = Object.values((JSON.parse(this.bob.one_time_keys()) as { curve25519: Record<string, string> }).curve25519)[0] as string;
    this.outbound.create_outbound(this.alice, bobKeys.curve25519, oneTimeKey);
    this.keys = { senderUserId, senderEd25519: aliceKeys.ed25519, recipientUserId, recipientEd25519: bobKeys.ed25519 };
    // The first message, as the drain's first event (outside its clock), starts the inbound session.
    const first = this.outbound.encrypt(roomKeyPayload(this.keys, this.sent));
    this.sent += 1;
    if (first.type !== 0) throw new Error('bench: the first message of an outbound session is not a pre-key message');
    this.inbound.create_inbound_from(this.bob, aliceKeys.curve25519, first.body);
    this.inbound.decrypt(first.type, first.body);
  }

  meanUs(): number {
    // Every message a pre-key message (the sender never hears back), numbered on as the drain's events are.
    const messages = Array.from({ length: DECRYPT_SAMPLES }, () => this.outbound.encrypt(roomKeyPayload(this.keys, this.sent++)));
    const startedMs = nowMs();
    for (const message of messages) this.inbound.decrypt(message.type, message.body);
    return ((nowMs() - startedMs) / messages.length) * 1000;
  }

  free(): void {
    freeAll(this.inbound, this.outbound, this.bob, this.alice);
  }
}

export async function runOlmDrainCase(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<Figure[]> {
  await loadOlm();
  const count = sizes.olmBacklog;
  const olmRates: number[] = [];
  const plainRates: number[] = [];
  const addedUs: number[] = [];
  const plainUs: number[] = [];
  const libolmUs: number[] = [];
  const libolm = new LibolmDecryptTimer(`@olm-bench-sender-0:${world.server.serverName}`, world.recipientUserId);
  try {
    for (let round = 0; round < sizes.rounds; round += 1) {
      progress(`case 7: Olm drain round ${round + 1} of ${sizes.rounds} (${count} Olm-encrypted room keys, then the same drain in plaintext)`);
      // Alternating order, so a drift of the machine weighs on both sides alike.
      let olmMs: number;
      let plainMs: number;
      if (round % 2 === 0) {
        olmMs = await olmDrain(world, sizes, round, count);
        plainMs = await plainDrain(world, sizes, round, count);
      } else {
        plainMs = await plainDrain(world, sizes, round, count);
        olmMs = await olmDrain(world, sizes, round, count);
      }
      olmRates.push(perSecond(count, olmMs));
      plainRates.push(perSecond(count, plainMs));
      addedUs.push(((olmMs - plainMs) / count) * 1000);
      plainUs.push((plainMs / count) * 1000);
      // Between the rounds, so the machine it runs on is the one the rounds ran on.
      libolmUs.push(libolm.meanUs());
    }
  } finally {
    libolm.free();
  }
  const drain = medianRound(olmRates, plainRates);
  const added = median(addedUs);
  return [
    {
      caseNumber: 7, name: 'drain, Olm-encrypted room keys', value: drain.value, baselineName: 'same drain, plaintext', baseline: drain.baseline,
      unit: 'events/s', better: 'higher', target: { op: '>=', ratio: 0.5 }, rounds: { values: olmRates, baselines: plainRates },
      note: `${count} pre-key messages per round, decrypted at commit; median-ratio round of ${sizes.rounds}`,
    },
    {
      caseNumber: 7, name: 'Olm cost added per event', value: added, baselineName: 'plaintext drain, per event', baseline: median(plainUs),
      unit: 'µs', better: 'lower', note: 'decrypt, session write-back, replay hash, sealed room key; info, no target',
    },
    {
      caseNumber: 7, name: 'libolm Session.decrypt alone, per pre-key message', value: median(libolmUs), baselineName: 'plaintext drain, per event', baseline: median(plainUs),
      unit: 'µs', better: 'lower',
      note: `libolm's decrypt call only, on the drain's payload, one ratchet step on an existing session: mean of ${DECRYPT_SAMPLES} back-to-back calls after each round, median over the rounds; the 0.5× target allows an Olm event one plaintext event more, and this is the part of that allowance libolm alone takes`,
    },
  ];
}
