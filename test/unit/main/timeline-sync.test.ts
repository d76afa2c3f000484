// The main process's timeline: pages a room through /messages, decrypts with keys from the shared store, marks a
// message whose key came later as late, respects legacy's own-keys-only rule, and starts over cleanly after a
// restart (a new TimelineSync on the same store).
import { describe, expect, it } from 'vitest';
import { RoomEncryptor } from '../../../src/crypto/room-encryptor';
import { systemClock, type Clock } from '../../../src/shared/clock';
import { LATE_DECRYPTION_GRACE_MS } from '../../../src/shared/room-key-protocol';
import { ROOM_KEY_EVENT_TYPE } from '../../../src/shared/room-key-protocol';
import { TimelineSync } from '../../../src/main/host/timeline-sync';
import { applyInboxEffects } from '../../../src/engine/inbox-effects';
import { consume } from '../../../src/store/consume';
import { appendToInbox } from '../../../src/store/inbox';
import type { ClientStore } from '../../../src/store/open-store';
import { summarizeTimeline, recentTimeline } from '../../../src/store/timeline';
import type { Strategy } from '../../../src/shared/strategies';
import { startFixture, type Fixture } from '../engine/homeserver-fixture';
import { tempStore } from '../store/temp-store';

async function world(): Promise<{ fixture: Fixture; roomId: string; encryptor: RoomEncryptor; store: ClientStore }> {
  const fixture = await startFixture();
  const room = await fixture.sender.client.createRoom({ invite: [fixture.receiver.userId] });
  if (!room.ok) throw new Error('createRoom failed');
  await fixture.receiver.client.joinRoom(room.value.roomId);
  const encryptor = await RoomEncryptor.create({ userId: fixture.sender.userId, deviceId: 'SENDER' });
  return { fixture, roomId: room.value.roomId, encryptor, store: tempStore() };
}

let txn = 0;
/** Sends one encrypted message; returns its key content, which the test delivers (or not) by hand. */
async function sendEncrypted(w: Awaited<ReturnType<typeof world>>, body: string): Promise<Record<string, unknown>> {
  const message = await w.encryptor.encrypt(w.roomId, 'm.room.message', { msgtype: 'm.text', body });
  txn += 1;
  const sent = await w.fixture.sender.client.sendRoomEvent(w.roomId, message.type, `tl-${txn}`, message.content);
  if (!sent.ok) throw new Error('send failed');
  return { tag: `key-${txn}`, room_key: message.newRoomKey };
}

/** A key committed to the inbox by `process` and handled by `consumer`, as the engine and consumers would. */
function deliverKey(store: ClientStore, content: Record<string, unknown>, process: string, consumer: string): void {
  appendToInbox(store, [{ type: ROOM_KEY_EVENT_TYPE, sender: '@s:x', content }], { receivedAtMs: 1, process, pid: 1, batchSince: null, batchNextBatch: 'n' });
  consume(store, consumer, (row, db) => void applyInboxEffects(db, consumer, row, 1), { fetchedBy: process === consumer ? process : undefined });
}

/** A clock the test moves by hand, so the grace period before "late" is crossed exactly when the test says. */
function manualClock(): Clock & { advance(ms: number): void } {
  let nowMs = systemClock.nowMs();
  return { nowMs: () => nowMs, advance: (ms) => void (nowMs += ms) };
}

function timelineSync(w: Awaited<ReturnType<typeof world>>, strategy: Strategy, clock: Clock = manualClock()): TimelineSync {
  const { receiver } = w.fixture;
  return new TimelineSync({
    store: w.store, client: receiver.client, strategy, consumer: 'main', clock,
    account: { homeserverUrl: w.fixture.url, userId: receiver.userId, deviceId: receiver.deviceId, accessToken: '' },
  });
}

describe('TimelineSync', () => {
  it('timeline: decrypts with stored keys, keeps a keyless message undecryptable, then decrypts it late when its key arrives', async () => {
    const w = await world();
    const first = await sendEncrypted(w, 'hello');
    deliverKey(w.store, first, 'main', 'main');
    const second = await sendEncrypted(w, 'late one');
    const clock = manualClock();
    const sync = timelineSync(w, 'explicit-lease', clock);
    const pass = await sync.pass();
    expect(pass).toMatchObject({ appended: 2, decryptedLate: 0 });
    expect(summarizeTimeline(w.store, clock.nowMs())).toEqual({ encrypted: 2, decrypted: 1, late: 0, awaitingKey: 1, unableToDecrypt: 0 });
    expect((await sync.pass()).appended).toBe(0);

    clock.advance(LATE_DECRYPTION_GRACE_MS + 1);
    expect(summarizeTimeline(w.store, clock.nowMs())).toMatchObject({ awaitingKey: 0, unableToDecrypt: 1 });
    deliverKey(w.store, second, 'notifier', 'notifier');
    expect((await sync.pass()).decryptedLate).toBe(1);
    expect(summarizeTimeline(w.store, clock.nowMs())).toEqual({ encrypted: 2, decrypted: 2, late: 1, awaitingKey: 0, unableToDecrypt: 0 });
    expect(recentTimeline(w.store, 5).map((e) => [e.body, e.late])).toEqual([['hello', false], ['late one', true]]);
    sync.close();
    w.encryptor.close();
  });

  it('timeline: a key stored while a page is on its way decrypts that page at once, and one stored within the grace period is not late', async () => {
    const w = await world();
    const clock = manualClock();
    const sync = timelineSync(w, 'explicit-lease', clock);
    await sync.pass();
    // The key reaches the store after the pass began (its keys were already imported) and before its page
    // arrives: the page must still decrypt with it.
    const racing = await sendEncrypted(w, 'racing its key');
    const roomMessagesForward = w.fixture.receiver.client.roomMessagesForward.bind(w.fixture.receiver.client);
    w.fixture.receiver.client.roomMessagesForward = async (...args) => {
      const page = await roomMessagesForward(...args);
      if (page.ok && page.value.events.length > 0) deliverKey(w.store, racing, 'main', 'main');
      return page;
    };
    expect(await sync.pass()).toMatchObject({ appended: 1, decryptedLate: 0 });
    expect(summarizeTimeline(w.store, clock.nowMs())).toMatchObject({ encrypted: 1, decrypted: 1, late: 0 });
    w.fixture.receiver.client.roomMessagesForward = roomMessagesForward;

    // A key that comes one pass after its message, well within the grace period: decrypted, not late.
    const slow = await sendEncrypted(w, 'key one pass later');
    await sync.pass();
    clock.advance(LATE_DECRYPTION_GRACE_MS / 4);
    deliverKey(w.store, slow, 'main', 'main');
    expect((await sync.pass()).decryptedLate).toBe(1);
    expect(summarizeTimeline(w.store, clock.nowMs())).toMatchObject({ encrypted: 2, decrypted: 2, late: 0 });
    sync.close();
    w.encryptor.close();
  });

  it('timeline: under legacy a key only the notifier handled stays unusable for main; a restarted sync retries what is still undecrypted', async () => {
    const w = await world();
    const key = await sendEncrypted(w, 'notifier kept it');
    deliverKey(w.store, key, 'notifier', 'notifier');
    const clock = manualClock();
    const legacy = timelineSync(w, 'legacy', clock);
    await legacy.pass();
    expect(summarizeTimeline(w.store, clock.nowMs())).toMatchObject({ encrypted: 1, awaitingKey: 1 });
    clock.advance(LATE_DECRYPTION_GRACE_MS + 1);
    expect(summarizeTimeline(w.store, clock.nowMs())).toMatchObject({ encrypted: 1, unableToDecrypt: 1 });
    legacy.close();

    // A later main process following an explicit strategy may use every consumer's keys: its first pass retries.
    const restarted = timelineSync(w, 'explicit-cas', clock);
    expect((await restarted.pass()).decryptedLate).toBe(1);
    expect(summarizeTimeline(w.store, clock.nowMs())).toMatchObject({ encrypted: 1, decrypted: 1, late: 1 });
    restarted.close();
    w.encryptor.close();
  });

  it('timeline: a room left since the room list was read is dropped quietly, and the other rooms are still paged', async () => {
    const w = await world();
    const other = await w.fixture.sender.client.createRoom({ invite: [w.fixture.receiver.userId] });
    if (!other.ok) throw new Error('createRoom failed');
    expect((await w.fixture.receiver.client.joinRoom(other.value.roomId)).ok).toBe(true);
    const clock = manualClock();
    const sync = timelineSync(w, 'explicit-lease', clock);
    expect((await sync.pass()).error).toBeUndefined();

    const receiver = w.fixture.receiver.client;
    const left = await fetch(`${receiver.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(w.roomId)}/leave`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${receiver.accessToken ?? ''}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(left.status).toBe(200);
    const sent = await w.fixture.sender.client.sendRoomEvent(other.value.roomId, 'm.room.message', 'after-leave', { msgtype: 'm.text', body: 'still paged' });
    expect(sent.ok).toBe(true);
    // The clock has not moved, so the pass uses the room list it read before the leave.
    const pass = await sync.pass();
    expect(pass.error).toBeUndefined();
    expect(pass.appended).toBe(1);
    expect(recentTimeline(w.store, 5).map((entry) => entry.body)).toEqual(['still paged']);
    sync.close();
    w.encryptor.close();
  });
});
