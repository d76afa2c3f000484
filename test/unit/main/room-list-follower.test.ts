// Which rooms the main process follows, from its sliding sync room list against a real homeserver: the rooms its
// account joined (not those it is only invited to), a room joined later, not a room it left; a list that outgrows
// the range; a connection the server forgot; and a room-list connection that leaves the to-device stream alone.
import { describe, expect, it } from 'vitest';
import type { MatrixClient } from '../../../src/engine/matrix-client';
import { RoomListFollower } from '../../../src/main/host/room-list-follower';
import type { Clock } from '../../../src/shared/clock';
import { startFixture, type Fixture } from '../engine/homeserver-fixture';

// The fixture closes its server after each test.
const world = (): Promise<Fixture> => startFixture();

/** A clock the test moves by hand, so each refresh happens exactly when the test says. */
function manualClock(): Clock & { advance(ms: number): void } {
  let nowMs = 1_000_000;
  return { nowMs: () => nowMs, advance: (ms) => void (nowMs += ms) };
}

async function roomFor(fixture: Fixture, join: boolean): Promise<string> {
  const room = await fixture.sender.client.createRoom({ invite: [fixture.receiver.userId] });
  if (!room.ok) throw new Error('createRoom failed');
  if (join) {
    const joined = await fixture.receiver.client.joinRoom(room.value.roomId);
    if (!joined.ok) throw new Error('join failed');
  }
  return room.value.roomId;
}

async function leave(client: MatrixClient, roomId: string): Promise<void> {
  const response = await fetch(`${client.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${client.accessToken ?? ''}`, 'Content-Type': 'application/json' },
    body: '{}',
  });
  expect(response.status).toBe(200);
}

async function joined(follower: RoomListFollower): Promise<string[]> {
  const rooms = await follower.joinedRooms();
  if (!rooms.ok) throw new Error(`room list failed: ${JSON.stringify(rooms.error)}`);
  return [...rooms.value].sort();
}

describe('RoomListFollower', () => {
  it('room list: follows the joined rooms, then a room joined later, and no longer one that was left', async () => {
    const fixture = await world();
    const clock = manualClock();
    const first = await roomFor(fixture, true);
    const invitedOnly = await roomFor(fixture, false);
    const follower = new RoomListFollower({ client: fixture.receiver.client, clock, refreshIntervalMs: 1000 });
    expect(await joined(follower)).toEqual([first]);

    const later = await roomFor(fixture, true);
    // Within the refresh interval the last answer stands; after it, the new room is followed.
    expect(await joined(follower)).toEqual([first]);
    clock.advance(1000);
    expect(await joined(follower)).toEqual([first, later].sort());

    await leave(fixture.receiver.client, first);
    const accepted = await fixture.receiver.client.joinRoom(invitedOnly);
    expect(accepted.ok).toBe(true);
    clock.advance(1000);
    expect(await joined(follower)).toEqual([later, invitedOnly].sort());
    // Nothing new: an answer without rooms keeps the set.
    clock.advance(1000);
    expect(await joined(follower)).toEqual([later, invitedOnly].sort());
  });

  it('room list: a list that outgrows the range is asked for again, whole', async () => {
    const fixture = await world();
    const rooms: string[] = [];
    for (let n = 0; n < 5; n += 1) rooms.push(await roomFor(fixture, true));
    const follower = new RoomListFollower({ client: fixture.receiver.client, clock: manualClock(), initialRangeEnd: 1 });
    expect(await joined(follower)).toEqual([...rooms].sort());
  });

  it('room list: a connection the server forgot (M_UNKNOWN_POS) is opened again and the set rebuilt', async () => {
    const fixture = await world();
    const clock = manualClock();
    const kept = await roomFor(fixture, true);
    const left = await roomFor(fixture, true);
    const follower = new RoomListFollower({ client: fixture.receiver.client, clock });
    expect(await joined(follower)).toEqual([kept, left].sort());
    await fixture.admin.addFault(fixture.receiver.userId, fixture.receiver.deviceId, { kind: 'expire-pos' });
    await leave(fixture.receiver.client, left);
    clock.advance(1000);
    expect(await joined(follower)).toEqual([kept]);
  });

  it('room list: its requests acknowledge nothing of the to-device stream and spend no sync fault', async () => {
    const fixture = await world();
    const room = await roomFor(fixture, true);
    await fixture.send(0, 3);
    await fixture.admin.addFault(fixture.receiver.userId, fixture.receiver.deviceId, { kind: 'error', count: 1, status: 500 });
    const follower = new RoomListFollower({ client: fixture.receiver.client, clock: manualClock() });
    expect(await joined(follower)).toEqual([room]);
    const inspection = await fixture.admin.inspectDevice(fixture.receiver.userId, fixture.receiver.deviceId);
    expect([inspection.queued.length, inspection.delivered]).toEqual([3, 0]);
    expect((await fixture.admin.listFaults()).map((pending) => pending.fault.kind)).toEqual(['error']);
  });
});
