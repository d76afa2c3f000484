/**
 * Accounts for a test: users and their devices registered in one call, and rooms with their members joined.
 *
 * Runtime: node. Each user is registered with its first device (`POST /register`, the `m.login.dummy` stage),
 * each further device is a password login with its own `device_id`, so every device has its own to-device queue
 * and access token, as distinct apps would. Passwords are fixed per run (these are throwaway test accounts on a
 * throwaway server); access tokens are secrets and are never printed.
 */
import { MEGOLM_ALGORITHM } from '../shared/room-key-protocol';
import type { DeviceRef } from './kit-homeserver';
import { matrixRequest } from './kit-http';

const testPassword = 'todevice-kit-password';
const localpartPattern = /^[a-z0-9._=/-]+$/;
const deviceIdPattern = /^[A-Za-z0-9_.-]+$/;

/** A logged-in device. */
export interface KitDevice extends DeviceRef {
  accessToken: string;
  homeserverUrl: string;
}

export interface KitUser {
  userId: string;
  password: string;
  /** The user's devices by device ID, in the order they were asked for. */
  devices: Record<string, KitDevice>;
  /** The first device asked for. */
  device: KitDevice;
}

export interface RoomOptions {
  /** Adds `m.room.encryption` (Megolm) to the room's initial state. Default true. */
  encrypted?: boolean;
  name?: string;
}

export interface KitAccounts {
  /**
   * Registers every user with its devices: `register({ alice: ['PHONE', 'LAPTOP'], bob: 'DESKTOP' })`.
   * Localparts are lower case (`[a-z0-9._=/-]`); device IDs `[A-Za-z0-9_.-]`.
   */
  register<Names extends string>(users: Record<Names, string | readonly string[]>): Promise<Record<Names, KitUser>>;
  /** Logs `user` in on one more device. */
  addDevice(user: KitUser, deviceId: string): Promise<KitDevice>;
  /** Creates a room as `creator`, invites `members` and joins each of them; returns the room ID. */
  createRoom(creator: KitDevice, members: readonly KitDevice[], options?: RoomOptions): Promise<string>;
}

export function kitAccounts(homeserverUrl: string): KitAccounts {
  const login = async (userId: string, deviceId: string): Promise<KitDevice> => {
    checkDeviceId(deviceId);
    const body = await matrixRequest(homeserverUrl, 'POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: userId }, password: testPassword, device_id: deviceId },
    });
    return { userId, deviceId, accessToken: String(body.access_token), homeserverUrl };
  };

  const registerOne = async (localpart: string, deviceIds: readonly string[]): Promise<KitUser> => {
    if (!localpartPattern.test(localpart)) throw new Error(`todevice kit: "${localpart}" is not a valid localpart ([a-z0-9._=/-])`);
    const [first, ...others] = deviceIds;
    if (first === undefined) throw new Error(`todevice kit: user "${localpart}" needs at least one device`);
    checkDeviceId(first);
    const body = await matrixRequest(homeserverUrl, 'POST', '/_matrix/client/v3/register', {
      body: { username: localpart, password: testPassword, device_id: first, auth: { type: 'm.login.dummy' } },
    });
    const userId = String(body.user_id);
    const devices: Record<string, KitDevice> = { [first]: { userId, deviceId: first, accessToken: String(body.access_token), homeserverUrl } };
    for (const deviceId of others) devices[deviceId] = await login(userId, deviceId);
    return { userId, password: testPassword, devices, device: devices[first] as KitDevice };
  };

  return {
    register: async <Names extends string>(users: Record<Names, string | readonly string[]>) => {
      const result = {} as Record<Names, KitUser>;
      for (const [localpart, devices] of Object.entries(users) as Array<[Names, string | readonly string[]]>) {
        result[localpart] = await registerOne(localpart, typeof devices === 'string' ? [devices] : devices);
      }
      return result;
    },
    addDevice: async (user, deviceId) => {
      const device = await login(user.userId, deviceId);
      user.devices[deviceId] = device;
      return device;
    },
    createRoom: async (creator, members, options = {}) => {
      const initialState = options.encrypted === false ? [] : [{ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM_ALGORITHM } }];
      const invite = [...new Set(members.map((member) => member.userId).filter((userId) => userId !== creator.userId))];
      const created = await matrixRequest(homeserverUrl, 'POST', '/_matrix/client/v3/createRoom', {
        accessToken: creator.accessToken,
        body: { preset: 'private_chat', invite, initial_state: initialState, ...(options.name === undefined ? {} : { name: options.name }) },
      });
      const roomId = String(created.room_id);
      const joined = new Set([creator.userId]);
      for (const member of members) {
        if (joined.has(member.userId)) continue;
        await matrixRequest(homeserverUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { accessToken: member.accessToken, body: {} });
        joined.add(member.userId);
      }
      return roomId;
    },
  };
}

function checkDeviceId(deviceId: string): void {
  if (!deviceIdPattern.test(deviceId)) throw new Error(`todevice kit: "${deviceId}" is not a valid device ID ([A-Za-z0-9_.-])`);
}
