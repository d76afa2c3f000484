/**
 * The receiving side: decrypts `m.room.encrypted` room events with the Megolm sessions this process was given.
 *
 * Runtime: node / electron-utility. Each process builds its own `RoomDecryptor` (an in-memory `OlmMachine`) and
 * feeds it the keys from the shared database (src/store/room-keys.ts), which is the only place keys are kept:
 * nothing here needs to survive the process. Guarantees:
 * - `importKeys` is idempotent per session ID, so callers can hand it every key they can see, each pass.
 * - `decrypt` never throws for a bad or undecryptable event: it says why (`missing-key` when no key for the
 *   session was imported, `failed` with the library's message otherwise). Throwing is kept for programmer errors.
 */
import type { ExportedRoomKey } from '../shared/room-key-protocol';
import { ENCRYPTED_EVENT_TYPE, megolmSessionId } from '../shared/room-key-protocol';
import type { RoomEvent } from '../shared/wire';
import { loadCryptoLibrary, type CryptoLibrary } from './crypto-library';

export type DecryptOutcome =
  | { kind: 'decrypted'; sessionId: string; type: string; content: Record<string, unknown> }
  | { kind: 'not-encrypted' }
  | { kind: 'unable'; sessionId: string | undefined; reason: 'missing-key' | 'failed'; detail: string };

export class RoomDecryptor {
  private readonly imported = new Set<string>();

  private constructor(
    private readonly library: CryptoLibrary,
    private readonly machine: InstanceType<CryptoLibrary['OlmMachine']>,
  ) {}

  static async create(userId: string, deviceId: string): Promise<RoomDecryptor> {
    const library = await loadCryptoLibrary();
    return new RoomDecryptor(library, await library.OlmMachine.initialize(new library.UserId(userId), new library.DeviceId(deviceId)));
  }

  hasKey(sessionId: string): boolean {
    return this.imported.has(sessionId);
  }

  /** Imports the keys not imported before; returns the session IDs that are new. */
  async importKeys(keys: readonly ExportedRoomKey[]): Promise<string[]> {
    const fresh = keys.filter((key) => !this.imported.has(key.session_id));
    if (fresh.length === 0) return [];
    await this.machine.importExportedRoomKeys(JSON.stringify(fresh), () => undefined);
    const ids = fresh.map((key) => key.session_id);
    for (const id of ids) this.imported.add(id);
    return ids;
  }

  async decrypt(event: RoomEvent): Promise<DecryptOutcome> {
    if (event.type !== ENCRYPTED_EVENT_TYPE) return { kind: 'not-encrypted' };
    const sessionId = megolmSessionId(event.content);
    if (sessionId === undefined) return { kind: 'unable', sessionId, reason: 'failed', detail: 'not Megolm content' };
    if (!this.imported.has(sessionId)) return { kind: 'unable', sessionId, reason: 'missing-key', detail: `no key for session ${sessionId}` };
    const { library } = this;
    try {
      const decrypted = await this.machine.decryptRoomEvent(
        JSON.stringify(event),
        new library.RoomId(event.room_id),
        new library.DecryptionSettings(library.TrustRequirement.Untrusted),
      );
      const clear = JSON.parse(decrypted.event) as { type?: unknown; content?: unknown };
      if (typeof clear.type !== 'string' || typeof clear.content !== 'object' || clear.content === null) {
        return { kind: 'unable', sessionId, reason: 'failed', detail: 'decrypted payload has no type or content' };
      }
      return { kind: 'decrypted', sessionId, type: clear.type, content: clear.content as Record<string, unknown> };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String((error as { description?: unknown } | null)?.description ?? error);
      return { kind: 'unable', sessionId, reason: 'failed', detail };
    }
  }

  close(): void {
    this.machine.close();
  }
}
