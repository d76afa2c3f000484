/**
 * The MACs this server computed last, by their input: a bounded memo for the MACs of sync tokens and sliding
 * sync `pos` values (sync-tokens.ts, sliding-sync-pos.ts).
 *
 * Runtime: node (homeserver only).
 *
 * Why: a client's next request presents the `since` and the `pos` the server issued in its previous answer, so
 * verifying them recomputes exactly the MACs computed moments before. One HMAC costs tens of microseconds in
 * Node (a native object per MAC), and a drained batch paid four. The memo gives the same answer as computing the
 * MAC again: a MAC is a pure function of its input under the server's one secret, and the memo is keyed by the
 * whole input. Only inputs the server MAC'd itself are stored, and a verification looks up the input it built
 * from the requester's own user and device, so a lookup tells a client nothing about anyone else's tokens.
 * Bounded: the oldest entry goes when `capacity` is reached.
 */
export class RecentMacs {
  private readonly macs = new Map<string, string>();

  constructor(private readonly capacity: number = DEFAULT_CAPACITY) {}

  /** The MAC of `input`: remembered, or computed by `compute` and remembered. */
  of(input: string, compute: (input: string) => string): string {
    const known = this.macs.get(input);
    if (known !== undefined) return known;
    const mac = compute(input);
    if (this.macs.size >= this.capacity) {
      const oldest = this.macs.keys().next();
      if (oldest.done !== true) this.macs.delete(oldest.value);
    }
    this.macs.set(input, mac);
    return mac;
  }
}

/** A few thousand devices' last tokens and positions, some hundred kilobytes at most. */
const DEFAULT_CAPACITY = 4096;
