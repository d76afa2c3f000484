/**
 * What one decryption pass reads, counts and remembers besides the Olm objects (olm-working-set.ts): the sender
 * devices it looked up, its outcome counters, and the hashes of the messages it decrypted.
 *
 * Runtime: node / electron-utility. A batch of a hundred events from one sender asked the store for the same
 * device a hundred times and bumped the same counter a hundred times; here each device is read once per pass and
 * each outcome is written once per pass, as one addition, at `flush`. Both stay inside the pass's transaction:
 * no decryption writes a device, so a device read earlier in the pass is still what the store holds, and the
 * counters are written by the same transaction that decrypted (a pass that throws, or a commit that is refused or
 * rolled back, writes none of them, exactly as when each was written at once). The hashes are written at `flush`
 * as one run per sender key (src/store/olm-bookkeeping.ts: one appended row instead of a row per message at a
 * random place of an index); until then `isMessageKnown` finds them here, so a message delivered twice in one
 * batch is still told apart from a broken session.
 */
import type { OlmDeviceRecord, OlmStateStore } from '../shared/olm-state';

export class OlmPassBookkeeping {
  private readonly devices = new Map<string, OlmDeviceRecord | undefined>();
  private readonly outcomes = new Map<string, number>();
  private readonly decrypted = new Map<string, Set<string>>();

  constructor(private readonly state: OlmStateStore) {}

  /** The sender device with `curve25519` of `userId`, read from the store once per pass. */
  deviceByCurve25519(userId: string, curve25519: string): OlmDeviceRecord | undefined {
    const key = `${userId}\u0000${curve25519}`;
    if (this.devices.has(key)) return this.devices.get(key);
    const device = this.state.deviceByCurve25519(userId, curve25519);
    this.devices.set(key, device);
    return device;
  }

  /** Counts one `outcome`; written at `flush`. */
  count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  /** Remembers that the message with `messageHash` from `senderKey` was decrypted; written at `flush`. */
  rememberMessage(senderKey: string, messageHash: string): void {
    let hashes = this.decrypted.get(senderKey);
    if (hashes === undefined) {
      hashes = new Set();
      this.decrypted.set(senderKey, hashes);
    }
    hashes.add(messageHash);
  }

  /** Whether the message was decrypted before: in this pass, or by an earlier commit. */
  isMessageKnown(senderKey: string, messageHash: string): boolean {
    return this.decrypted.get(senderKey)?.has(messageHash) === true || this.state.isMessageKnown(senderKey, messageHash);
  }

  /** Adds every counted outcome to the store's counters (once per outcome) and writes the hashes (a run per sender key). */
  flush(nowMs: number): void {
    for (const [outcome, count] of this.outcomes) this.state.countOutcome(outcome, nowMs, count);
    this.outcomes.clear();
    for (const [senderKey, hashes] of this.decrypted) this.state.rememberMessages(senderKey, [...hashes], nowMs);
    this.decrypted.clear();
  }
}
