import { describe, expect, it } from 'vitest';
import { SlidingSyncPos, type PosBinding, type PosFields } from '../../../src/homeserver/sliding-sync-pos';

describe('sliding sync pos', () => {
  const positions = new SlidingSyncPos('secret');
  const binding: PosBinding = { userId: '@a:hs', deviceId: 'D1', connId: 'main', nonce: '00112233445566778899aabb' };
  const fields: PosFields = {
    connectionId: 12,
    seq: 7,
    roomSeq: 3,
    deviceListStreamId: 41,
    roomPositions: { rooms: 9, accountData: 2, receipts: 0, typing: 5 },
  };
  const accepts = (reader: SlidingSyncPos, who: PosBinding, pos: string): PosFields | undefined => {
    const parsed = reader.parse(pos);
    return parsed !== undefined && reader.verify(who, pos, parsed) ? parsed.fields : undefined;
  };

  it('sliding sync pos: what was issued reads back, with or without room-side positions', () => {
    const pos = positions.issue(binding, fields);
    expect(pos).toMatch(/^12\.7\.3\.41\.9_2_0_5\.[A-Za-z0-9_-]{22}$/);
    expect(accepts(positions, binding, pos)).toEqual(fields);
    const toDeviceOnly = { ...fields, roomPositions: undefined };
    const plain = positions.issue(binding, toDeviceOnly);
    expect(plain).toMatch(/^12\.7\.3\.41\.-\.[A-Za-z0-9_-]{22}$/);
    expect(accepts(positions, binding, plain)).toEqual(toDeviceOnly);
  });

  it('sliding sync pos: it verifies only for the user, device, conn_id and nonce it was issued to, under its own secret', () => {
    const pos = positions.issue(binding, fields);
    for (const other of [
      { ...binding, userId: '@b:hs' },
      { ...binding, deviceId: 'D2' },
      { ...binding, connId: 'other' },
      { ...binding, nonce: 'ffffffffffffffffffffffff' },
    ]) {
      expect(accepts(positions, other, pos), JSON.stringify(other)).toBeUndefined();
    }
    expect(accepts(new SlidingSyncPos('another secret'), binding, pos)).toBeUndefined();
    // A separator inside an ID cannot make two bindings read alike.
    const pipe = positions.issue({ ...binding, userId: '@a:hs|D1', deviceId: '' }, fields);
    expect(accepts(positions, { ...binding, userId: '@a:hs', deviceId: 'D1|' }, pipe)).toBeUndefined();
  });

  it('sliding sync pos: a pos with any field or the MAC changed is refused', () => {
    const pos = positions.issue(binding, fields);
    const parts = pos.split('.');
    const altered = parts.map((part, index) => {
      const copy = [...parts];
      copy[index] = index === 4 ? '9_2_1_5' : index === 5 ? `${part.slice(0, -1)}${part.endsWith('A') ? 'B' : 'A'}` : String(Number(part) + 1);
      return copy.join('.');
    });
    expect(altered).toHaveLength(6);
    for (const tampered of altered) expect(accepts(positions, binding, tampered), tampered).toBeUndefined();
    // The MAC of one pos does not carry over to other fields, not even to a shallower, older depth.
    const older = positions.issue(binding, { ...fields, seq: 6 });
    const mixed = `${older.slice(0, older.lastIndexOf('.'))}${pos.slice(pos.lastIndexOf('.'))}`;
    expect(accepts(positions, binding, mixed)).toBeUndefined();
  });

  it('sliding sync pos: anything else is not a pos at all', () => {
    for (const text of ['', 'not-a-pos', 'AAAAAAAAAAAAAAAA', '1.1.0.0.-', '1.1.0.0.x.AAAAAAAAAAAAAAAAAAAAAA', `${'9'.repeat(16)}.1.0.0.-.AAAAAAAAAAAAAAAAAAAAAA`]) {
      expect(positions.parse(text), text).toBeUndefined();
    }
  });
});
