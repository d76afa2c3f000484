// Joining stays explicit and the main process follows what its account joined: a room the demo did not make,
// joined with `todevice join`, shows up in `todevice timeline`, which reads the store without changing it; a
// message whose key the sender withheld reads as withheld there.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_DB_FILE } from '../../src/shared/data-layout';
import { readAccount } from '../../src/store/account';
import type { InboxRow } from '../../src/store/inbox';
import { openStore } from '../../src/store/open-store';
import { storeWithheld } from '../../src/store/room-key-withheld';
import { appendTimelinePage } from '../../src/store/timeline';
import { startRecordingProxy, traceLine } from '../conformance/recording-proxy';
import { makeSender, RECEIVER, runTodevice, startHeadless, startTestServer, tempDir, waitFor, withStore, type Sender, type TestServer } from './support';

const todevice = runTodevice;

async function send(sender: Sender, roomId: string, body: string): Promise<void> {
  const sent = await sender.client.sendRoomEvent(roomId, 'm.room.message', `msg-${crypto.randomUUID()}`, { msgtype: 'm.text', body });
  expect(sent.ok).toBe(true);
}

/** A room the sender made, with the receiver invited and one message in it. */
async function roomWithMessage(sender: Sender, name: string, body: string): Promise<string> {
  const room = await sender.client.createRoom({ invite: [`@${RECEIVER.user}:localhost`], name });
  if (!room.ok) throw new Error('createRoom failed');
  await send(sender, room.value.roomId, body);
  return room.value.roomId;
}

const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('todevice join and todevice timeline', () => {
  it('a room joined with todevice join appears in the main process timeline; timeline and join change nothing in the store', async () => {
    const dataDir = tempDir('join');
    const main = await startHeadless(server.url, dataDir);
    const sender = await makeSender(server.url);
    const room = await sender.client.createRoom({ invite: [`@${RECEIVER.user}:localhost`], name: 'not the demo room' });
    if (!room.ok) throw new Error('createRoom failed');
    for (const body of ['first', 'second']) {
      const sent = await sender.client.sendRoomEvent(room.value.roomId, 'm.room.message', `join-${body}`, { msgtype: 'm.text', body });
      expect(sent.ok).toBe(true);
    }
    try {
      const joined = await todevice('join', '--data', dataDir, room.value.roomId);
      expect(joined.code, joined.stderr).toBe(0);
      expect(joined.stdout).toContain(`joined ${room.value.roomId}`);

      const bodies = async (): Promise<string[]> => {
        const shown = await todevice('timeline', '--data', dataDir, '--room', room.value.roomId, '--json');
        if (shown.code !== 0) return [];
        const parsed = JSON.parse(shown.stdout) as { timeline: Array<{ body: string | null; status: string; sender: string }> };
        return parsed.timeline.map((entry) => `${entry.sender} ${entry.status} ${entry.body}`);
      };
      await waitFor(async () => (await bodies()).length === 2, 30_000, () => 'the joined room never reached the timeline');
      expect(await bodies()).toEqual([`${sender.userId} plaintext first`, `${sender.userId} plaintext second`]);
      const text = await todevice('timeline', '--data', dataDir);
      expect(text.stdout).toContain(room.value.roomId);
      expect(text.stdout).toMatch(/ first\n/);
    } finally {
      main.child.kill('SIGTERM');
      await main.exited;
    }

    // With no process running, reading the timeline leaves the file byte for byte as it was.
    const dbPath = path.join(dataDir, CLIENT_DB_FILE);
    const before = sha256(dbPath);
    expect((await todevice('timeline', '--data', dataDir, '--json')).code).toBe(0);
    expect(sha256(dbPath)).toBe(before);
  });

  it('timeline: a message whose sender withheld its key reads as withheld (with the code), not as unable to decrypt', async () => {
    const dataDir = tempDir('timeline-withheld');
    const store = openStore(path.join(dataDir, CLIENT_DB_FILE));
    const entry = (eventId: string, sessionId: string) => ({
      eventId, roomId: '!r:localhost', sender: '@s:localhost', originServerTs: 1000, sessionId, body: null, ciphertext: '{}', seenAtMs: 1000, decryptedAtMs: null, late: false,
    });
    store.immediate(() => {
      appendTimelinePage(store, '!r:localhost', [entry('$withheld', 'S-WITHHELD'), entry('$lost', 'S-LOST')], 'next');
      const row = { seq: 1, sender: '@s:localhost' } as InboxRow;
      storeWithheld(store.db, 'main', row, { roomId: '!r:localhost', sessionId: 'S-WITHHELD', code: 'm.unverified', reason: 'not verified' }, 1000);
    });
    store.close();
    const shown = await todevice('timeline', '--data', dataDir, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    const timeline = (JSON.parse(shown.stdout) as { timeline: Array<{ event_id: string; status: string; reason?: string }> }).timeline;
    expect(timeline.map((row) => [row.event_id, row.status, row.reason]).sort()).toEqual([
      ['$lost', 'unable-to-decrypt', 'no room key for its Megolm session reached the store'],
      ['$withheld', 'withheld', 'the sender withheld its room key (m.unverified: not verified)'],
    ]);
    expect((await todevice('timeline', '--data', dataDir)).stdout).toContain('<the sender withheld its room key (m.unverified)>');
  });

  it('main follows the rooms of its sliding sync room list: one joined after start is paged, one it left is not', async () => {
    // A server of its own: this test's receiver must be new to it. Main talks to it through a recording proxy.
    const own = await startTestServer();
    const proxy = await startRecordingProxy(own.url);
    const dataDir = tempDir('room-list');
    const main = await startHeadless(proxy.url, dataDir);
    try {
      const sender = await makeSender(own.url);
      const bodiesIn = async (roomId: string): Promise<string[]> => {
        const shown = await todevice('timeline', '--data', dataDir, '--room', roomId, '--json');
        if (shown.code !== 0) return [];
        return (JSON.parse(shown.stdout) as { timeline: Array<{ body: string | null }> }).timeline.map((entry) => entry.body ?? '');
      };
      const joinedRoom = async (name: string, first: string): Promise<string> => {
        const roomId = await roomWithMessage(sender, name, first);
        const joined = await todevice('join', '--data', dataDir, roomId);
        expect(joined.code, joined.stderr).toBe(0);
        await waitFor(async () => (await bodiesIn(roomId)).includes(first), 30_000, () => `${name} never reached the timeline: ${main.stderr.join('\n')}`);
        return roomId;
      };
      const left = await joinedRoom('left later', 'before the leave');
      const account = withStore(dataDir, (store) => readAccount(store));
      const leave = await fetch(`${own.url}/_matrix/client/v3/rooms/${encodeURIComponent(left)}/leave`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${account?.accessToken ?? ''}`, 'Content-Type': 'application/json' },
        body: '{}',
      });
      expect(leave.status).toBe(200);
      // A room joined after the leave reaching the timeline means main's room list was read after the leave.
      const kept = await joinedRoom('joined after the leave', 'first in the kept room');
      await send(sender, left, 'after the leave');
      // Sent after the message in the left room: once main paged it, a followed left room would have been paged too.
      await send(sender, kept, 'second in the kept room');
      await waitFor(async () => (await bodiesIn(kept)).includes('second in the kept room'), 30_000, () => 'the kept room stopped being paged');
      expect(await bodiesIn(left)).toEqual(['before the leave']);
      expect(main.stderr.filter((line) => line.includes('timeline paging stopped'))).toEqual([]);

      const asked = new Set(proxy.requests.map(traceLine));
      expect(asked).toContain('POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync');
      expect(asked).not.toContain('GET /_matrix/client/v3/joined_rooms');
    } finally {
      main.child.kill('SIGTERM');
      await main.exited;
      await proxy.close();
      await own.close();
    }
  });

  it('answers bad input in one line', async () => {
    const dataDir = tempDir('join-bad');
    const missing = await todevice('timeline', '--data', dataDir);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const badRoom = await todevice('join', '--data', dataDir, 'not-a-room');
    expect(badRoom.code).toBe(2);
    expect(badRoom.stderr).toMatch(/is not a room ID/);
  });
});
