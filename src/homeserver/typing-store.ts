/**
 * Typing notifications: who is typing in which room, in memory, as every homeserver keeps them.
 *
 * Runtime: node (homeserver only).
 *
 * Typing is ephemeral by definition (the spec's `m.typing` is a snapshot that expires), so it is the one piece
 * of room data not in SQLite. Each change gets the next position of a typing stream; positions start at the
 * clock's milliseconds when the server starts, so a position issued before a restart is never ahead of one
 * issued after it and a client that comes back is simply told the current (empty) state. A typist expires after
 * their timeout (at most two minutes), which is a change like any other: it moves the stream and wakes the
 * room's long polls through `onChange`. `close` clears every timer.
 */

/** Longest typing notification honoured, whatever `timeout` asks for. */
export const MAX_TYPING_TIMEOUT_MS = 120_000;

interface RoomTyping {
  /** Typing stream position of the room's last change. */
  position: number;
  typists: Map<string, NodeJS.Timeout>;
}

export class TypingStore {
  /** Rooms that ever had a typist since the start, kept (small) so a stop is still reported as a change. */
  private readonly rooms = new Map<string, RoomTyping>();
  private latest = Date.now();

  constructor(private readonly onChange: (roomId: string) => void) {}

  /** Starts (for `timeoutMs`) or stops the user typing in the room. */
  set(roomId: string, userId: string, typing: boolean, timeoutMs: number): void {
    const room = this.rooms.get(roomId) ?? { position: 0, typists: new Map<string, NodeJS.Timeout>() };
    this.rooms.set(roomId, room);
    const previous = room.typists.get(userId);
    if (previous !== undefined) clearTimeout(previous);
    const wasTyping = room.typists.delete(userId);
    if (typing) {
      const timer = setTimeout(() => this.set(roomId, userId, false, 0), Math.min(timeoutMs, MAX_TYPING_TIMEOUT_MS));
      room.typists.set(userId, timer);
    }
    // Extending a timeout changes nothing a client can see; starting or stopping does.
    if (typing === wasTyping) return;
    this.latest += 1;
    room.position = this.latest;
    this.onChange(roomId);
  }

  /** The room's `m.typing` event when it changed after `position`, else undefined. */
  typingEvent(roomId: string, position: number): { type: 'm.typing'; content: { user_ids: string[] } } | undefined {
    const room = this.rooms.get(roomId);
    if (room === undefined || room.position <= position) return undefined;
    return { type: 'm.typing', content: { user_ids: [...room.typists.keys()].sort() } };
  }

  position(): number {
    return this.latest;
  }

  close(): void {
    for (const room of this.rooms.values()) for (const timer of room.typists.values()) clearTimeout(timer);
    this.rooms.clear();
  }
}
