/**
 * The sending side: one Megolm outbound session per room, real `m.room.encrypted` content, and the exported
 * session to share whenever a session starts.
 *
 * Runtime: node. Guarantees:
 * - `encrypt` returns `newRoomKey` exactly when the message is the first of a new session (the first message of
 *   a room, and then every `rotateEveryMessages` messages). The caller sends that key by to-device before it
 *   sends the message, as clients send `m.room_key` before the messages it unlocks.
 * - The exported key is the session at index 0, so it decrypts every message of the session, in any order.
 * - State lives in this object's `OlmMachine` (in memory): a restarted sender starts new sessions, which is what a
 *   real client does when it lost its outbound session.
 * The machine knows no device of the recipient (this homeserver has no `/keys` endpoints), so `shareRoomKey`
 * creates the session and returns no Olm to-device requests; sharing is ours (src/shared/room-key-protocol.ts).
 */
import type { ExportedRoomKey } from '../shared/room-key-protocol';
import { ENCRYPTED_EVENT_TYPE } from '../shared/room-key-protocol';
import { loadCryptoLibrary, type CryptoLibrary } from './crypto-library';

export interface EncryptedRoomMessage {
  /** Always `m.room.encrypted`. */
  type: typeof ENCRYPTED_EVENT_TYPE;
  content: Record<string, unknown>;
  sessionId: string;
  /** Present when this message starts a session: send it to the recipient device first. */
  newRoomKey?: ExportedRoomKey;
}

export interface RoomEncryptorOptions {
  userId: string;
  deviceId: string;
  /** Start a new session after this many messages in a room. Default 1: every message gets its own key. */
  rotateEveryMessages?: number;
}

export class RoomEncryptor {
  private readonly messagesInSession = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly library: CryptoLibrary,
    private readonly machine: InstanceType<CryptoLibrary['OlmMachine']>,
    private readonly userId: string,
    private readonly rotateEveryMessages: number,
  ) {}

  static async create(options: RoomEncryptorOptions): Promise<RoomEncryptor> {
    const rotate = options.rotateEveryMessages ?? 1;
    if (!Number.isInteger(rotate) || rotate < 1) throw new Error(`rotateEveryMessages must be a positive integer, got ${rotate}`);
    const library = await loadCryptoLibrary();
    const machine = await library.OlmMachine.initialize(new library.UserId(options.userId), new library.DeviceId(options.deviceId));
    return new RoomEncryptor(library, machine, options.userId, rotate);
  }

  /**
   * Encrypts one room event. Calls are serialised, so two concurrent callers never both think they started the
   * same session.
   */
  encrypt(roomId: string, eventType: string, content: Record<string, unknown>): Promise<EncryptedRoomMessage> {
    const next = this.queue.then(() => this.encryptNow(roomId, eventType, content));
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.machine.close();
  }

  private async encryptNow(roomId: string, eventType: string, content: Record<string, unknown>): Promise<EncryptedRoomMessage> {
    const { library, machine } = this;
    const room = new library.RoomId(roomId);
    const used = this.messagesInSession.get(roomId);
    const starting = used === undefined || used >= this.rotateEveryMessages;
    if (starting) {
      if (used !== undefined) await machine.invalidateGroupSession(room);
      await machine.shareRoomKey(room, [new library.UserId(this.userId)], new library.EncryptionSettings());
    }
    this.messagesInSession.set(roomId, starting ? 1 : (used ?? 0) + 1);
    const encrypted = JSON.parse(await machine.encryptRoomEvent(room, eventType, JSON.stringify(content))) as Record<string, unknown>;
    const sessionId = encrypted.session_id;
    if (typeof sessionId !== 'string') throw new Error('encryptRoomEvent returned content without session_id');
    if (!starting) return { type: ENCRYPTED_EVENT_TYPE, content: encrypted, sessionId };
    const exported = JSON.parse(
      await machine.exportRoomKeys((session: { sessionId: string; roomId: { toString(): string } }) => session.sessionId === sessionId),
    ) as ExportedRoomKey[];
    const newRoomKey = exported[0];
    if (exported.length !== 1 || newRoomKey === undefined) throw new Error(`exportRoomKeys found ${exported.length} sessions for ${sessionId}`);
    return { type: ENCRYPTED_EVENT_TYPE, content: encrypted, sessionId, newRoomKey };
  }
}
