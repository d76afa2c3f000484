/**
 * Megolm room-event decryption behind one interface, with two implementations to choose from: matrix-rust-sdk's
 * `OlmMachine` (WebAssembly, today's `RoomDecryptor`) and libolm's `InboundGroupSession`.
 *
 * Runtime: node / electron-utility. Both take keys as src/store/room-keys.ts keeps them: exports, or the sharing
 * format of an `m.room_key` (src/shared/olm-room-key.ts). libolm imports either directly (`import_session` /
 * `create`); the `OlmMachine` accepts only exports, so a sharing-format key is first turned into one with libolm
 * (`export_session(first_known_index)`). A `session_key` sealed at rest with the pickle key (olm-decrypt.ts
 * `sealRoomKeys`) is opened first; a key that does not open is skipped. Both never throw for an undecryptable
 * event (`DecryptOutcome` says why).
 * The libolm decryptor checks what libolm leaves to its caller: the session belongs to the event's room, and a
 * message index is not reused by a different event (a replayed index is an attack, not a duplicate).
 * The notifier starts one per run, so start-up cost matters: src/bench/megolm-startup.ts measures both.
 */
import { sessionKeyFormat } from '../shared/olm-room-key';
import type { ExportedRoomKey } from '../shared/room-key-protocol';
import { ENCRYPTED_EVENT_TYPE, megolmSessionId } from '../shared/room-key-protocol';
import type { RoomEvent } from '../shared/wire';
import { loadOlm, olm, type OlmInboundGroupSession } from './olm-library';
import type { PickleKey } from './pickle-key';
import { RoomDecryptor, type DecryptOutcome } from './room-decryptor';
import { isSealed, openSecret } from './secret-box';

export type MegolmImplementation = 'rust-sdk' | 'libolm';

export interface MegolmDecryptor {
  readonly implementation: MegolmImplementation;
  /** Imports the keys not imported before; returns the session IDs that are new. */
  importKeys(keys: readonly ExportedRoomKey[]): Promise<string[]>;
  hasKey(sessionId: string): boolean;
  decrypt(event: RoomEvent): Promise<DecryptOutcome>;
  close(): void;
}

export interface MegolmDecryptorOptions {
  /** Opens session keys sealed at rest (olm-decrypt.ts `sealRoomKeys`); without it a sealed key is skipped. */
  pickleKey?: PickleKey;
}

export async function createMegolmDecryptor(
  implementation: MegolmImplementation,
  userId: string,
  deviceId: string,
  options: MegolmDecryptorOptions = {},
): Promise<MegolmDecryptor> {
  if (implementation === 'libolm') {
    await loadOlm();
    return new LibolmMegolmDecryptor(options.pickleKey);
  }
  const decryptor = await RoomDecryptor.create(userId, deviceId);
  return new RustSdkMegolmDecryptor(decryptor, options.pickleKey);
}

/** The key with its `session_key` in clear, or undefined when it is sealed and does not open with `pickleKey`. */
export function openRoomKey(key: ExportedRoomKey, pickleKey: PickleKey | undefined): ExportedRoomKey | undefined {
  if (!isSealed(key.session_key)) return key;
  if (pickleKey === undefined) return undefined;
  const opened = openSecret(pickleKey, key.session_key, key.session_id);
  return opened.ok ? { ...key, session_key: opened.value } : undefined;
}

/** The key in export format (what `OlmMachine.importExportedRoomKeys` takes). Needs `loadOlm()` for sharing keys. */
export function toExportFormat(key: ExportedRoomKey): ExportedRoomKey {
  if (sessionKeyFormat(key) === 'export') return key;
  const session = new (olm().InboundGroupSession)();
  try {
    session.create(key.session_key);
    const { 'org.todevice.session_key_format': _format, ...rest } = key;
    return { ...rest, session_key: session.export_session(session.first_known_index()) } as ExportedRoomKey;
  } finally {
    session.free();
  }
}

class RustSdkMegolmDecryptor implements MegolmDecryptor {
  readonly implementation = 'rust-sdk' as const;

  constructor(
    private readonly decryptor: RoomDecryptor,
    private readonly pickleKey: PickleKey | undefined,
  ) {}

  async importKeys(keys: readonly ExportedRoomKey[]): Promise<string[]> {
    const fresh = keys
      .filter((key) => !this.decryptor.hasKey(key.session_id))
      .map((key) => openRoomKey(key, this.pickleKey))
      .filter((key): key is ExportedRoomKey => key !== undefined);
    if (fresh.some((key) => sessionKeyFormat(key) === 'sharing')) await loadOlm();
    return this.decryptor.importKeys(fresh.map(toExportFormat));
  }

  hasKey(sessionId: string): boolean {
    return this.decryptor.hasKey(sessionId);
  }

  decrypt(event: RoomEvent): Promise<DecryptOutcome> {
    return this.decryptor.decrypt(event);
  }

  close(): void {
    this.decryptor.close();
  }
}

interface GroupSessionEntry {
  session: OlmInboundGroupSession;
  roomId: string;
  /** message index → event ID that used it. */
  indexes: Map<number, string>;
}

class LibolmMegolmDecryptor implements MegolmDecryptor {
  readonly implementation = 'libolm' as const;
  private readonly sessions = new Map<string, GroupSessionEntry>();

  constructor(private readonly pickleKey: PickleKey | undefined) {}

  importKeys(keys: readonly ExportedRoomKey[]): Promise<string[]> {
    const fresh: string[] = [];
    for (const sealedOrClear of keys) {
      if (this.sessions.has(sealedOrClear.session_id)) continue;
      const key = openRoomKey(sealedOrClear, this.pickleKey);
      if (key === undefined) continue;
      const session = new (olm().InboundGroupSession)();
      try {
        if (sessionKeyFormat(key) === 'sharing') session.create(key.session_key);
        else session.import_session(key.session_key);
      } catch {
        // An unusable key is skipped (as the OlmMachine skips it); its messages then say `missing-key`.
        session.free();
        continue;
      }
      if (session.session_id() !== key.session_id) {
        session.free();
        continue;
      }
      this.sessions.set(key.session_id, { session, roomId: key.room_id, indexes: new Map() });
      fresh.push(key.session_id);
    }
    return Promise.resolve(fresh);
  }

  hasKey(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  decrypt(event: RoomEvent): Promise<DecryptOutcome> {
    return Promise.resolve(this.decryptNow(event));
  }

  private decryptNow(event: RoomEvent): DecryptOutcome {
    if (event.type !== ENCRYPTED_EVENT_TYPE) return { kind: 'not-encrypted' };
    const sessionId = megolmSessionId(event.content);
    if (sessionId === undefined || typeof event.content.ciphertext !== 'string') {
      return { kind: 'unable', sessionId, reason: 'failed', detail: 'not Megolm content' };
    }
    const entry = this.sessions.get(sessionId);
    if (entry === undefined) return { kind: 'unable', sessionId, reason: 'missing-key', detail: `no key for session ${sessionId}` };
    if (entry.roomId !== event.room_id) return { kind: 'unable', sessionId, reason: 'failed', detail: 'the session belongs to another room' };
    let decrypted: { plaintext: string; message_index: number };
    try {
      decrypted = entry.session.decrypt(event.content.ciphertext);
    } catch (error) {
      return { kind: 'unable', sessionId, reason: 'failed', detail: error instanceof Error ? error.message : String(error) };
    }
    const seen = entry.indexes.get(decrypted.message_index);
    if (seen !== undefined && seen !== event.event_id) {
      return { kind: 'unable', sessionId, reason: 'failed', detail: `message index ${decrypted.message_index} reused by another event` };
    }
    entry.indexes.set(decrypted.message_index, event.event_id);
    let clear: { type?: unknown; content?: unknown; room_id?: unknown };
    try {
      clear = JSON.parse(decrypted.plaintext) as typeof clear;
    } catch {
      return { kind: 'unable', sessionId, reason: 'failed', detail: 'decrypted payload is not JSON' };
    }
    if (clear.room_id !== event.room_id) return { kind: 'unable', sessionId, reason: 'failed', detail: 'decrypted payload names another room' };
    if (typeof clear.type !== 'string' || typeof clear.content !== 'object' || clear.content === null) {
      return { kind: 'unable', sessionId, reason: 'failed', detail: 'decrypted payload has no type or content' };
    }
    return { kind: 'decrypted', sessionId, type: clear.type, content: clear.content as Record<string, unknown> };
  }

  close(): void {
    for (const entry of this.sessions.values()) entry.session.free();
    this.sessions.clear();
  }
}
