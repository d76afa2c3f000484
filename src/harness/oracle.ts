/**
 * The oracle: from what the senders got accepted and what the main consumer handled, count delivered, lost,
 * duplicated and reordered messages per sending device, and the delivery latency.
 *
 * Runtime: node, pure functions (no I/O), so they are unit-tested on synthetic data. Why these definitions:
 * - Matrix to-device messages carry no IDs, so every harness message carries a tag `s<sender>-<n>` (n counts
 *   that sender's messages from 1, in send order); a room key shared through Olm is tagged
 *   `room-key:<session_id>` (src/shared/delivery-tag.ts). A tag is the message's identity, and its place in the
 *   sender's `SentLog` list (the order the homeserver accepted them) is its order. Room keys are counted as
 *   delivered, lost or duplicated like every message, but their order is not judged: an Olm key from a device the
 *   receiver has not queried yet stays encrypted in the inbox, and its decrypted row is appended after the query,
 *   behind the sender's later messages.
 * - "Delivered" means handled by the `main` consumer, the app's own effect; rows a legacy notifier kept to
 *   itself never reach it, which is the F1 loss.
 * - "Reordered" compares first handlings only, in handling order (inbox `seq`): a message handled after a later
 *   message of the same sender. A duplicate is counted once, as a duplicate, not again as reordered.
 */
import { ROOM_KEY_TAG_PREFIX } from '../shared/delivery-tag';
import type { DeliveryCounts, LatencySummary } from './report-types';

export interface SentLog {
  /** Tags the homeserver accepted, per sender, in send order. */
  bySender: string[][];
}

export interface HandledRow {
  seq: number;
  tag: string | null;
  sentAtMs: number | null;
  /** When the row was committed to the shared inbox (by whichever process fetched it); null in older stores. */
  storedAtMs: number | null;
  handledAtMs: number;
}

export interface OracleResult {
  totals: DeliveryCounts;
  perSender: Array<DeliveryCounts & { sender: string }>;
  latency: LatencySummary;
  lostTags: string[];
}

export function senderTag(sender: number, n: number): string {
  return `s${sender}-${n}`;
}

export function judge(sent: SentLog, handled: readonly HandledRow[]): OracleResult {
  const ordered = [...handled].sort((a, b) => a.seq - b.seq);
  const perSender = sent.bySender.map((tags, sender) => judgeSender(sender, tags, ordered));
  const totals = perSender.map((one) => one.counts).reduce<DeliveryCounts>(
    (sum, one) => ({
      sent: sum.sent + one.sent,
      delivered: sum.delivered + one.delivered,
      lost: sum.lost + one.lost,
      duplicated: sum.duplicated + one.duplicated,
      reordered: sum.reordered + one.reordered,
    }),
    { sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 },
  );
  const handledTags = new Set(ordered.map((row) => row.tag));
  const lostTags = sent.bySender.flatMap((tags) => tags.filter((tag) => !handledTags.has(tag))).slice(0, 20);
  return { totals, perSender: perSender.map(({ counts, sender }) => ({ sender, ...counts })), latency: latencyOf(ordered), lostTags };
}

function judgeSender(sender: number, tags: readonly string[], ordered: readonly HandledRow[]): { sender: string; counts: DeliveryCounts } {
  // A tag's place in the sender's accepted order; room-key tags (`room-key:<session_id>`) carry no counter.
  const position = new Map(tags.map((tag, index) => [tag, index]));
  const seen = new Set<string>();
  let duplicated = 0;
  let reordered = 0;
  let highest = -1;
  for (const row of ordered) {
    const at = row.tag === null ? undefined : position.get(row.tag);
    if (row.tag === null || at === undefined) continue;
    if (seen.has(row.tag)) {
      duplicated += 1;
      continue;
    }
    seen.add(row.tag);
    // A room key's order is not compared: its row may be decrypted, and so appended to the inbox, after later
    // messages of its sender, once a /keys/query taught the receiver the sender's device (it cannot be read before).
    if (row.tag.startsWith(ROOM_KEY_TAG_PREFIX)) continue;
    if (at < highest) reordered += 1;
    highest = Math.max(highest, at);
  }
  const counts = { sent: tags.length, delivered: seen.size, lost: tags.length - seen.size, duplicated, reordered };
  return { sender: `s${sender}`, counts };
}

/** Latency of first handlings (a duplicate's later handling is not a delivery). */
export function latencyOf(ordered: readonly HandledRow[]): LatencySummary {
  return latencyOfSamples(latencySamples(ordered));
}

/** Count, p50, p99 and max of samples sorted ascending. */
export function latencyOfSamples(samples: readonly number[]): LatencySummary {
  return { count: samples.length, p50Ms: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99), maxMs: samples.at(-1) ?? null };
}

/**
 * Send-to-first-handling latency of every delivered message, sorted ascending: what `latencyOf` summarises, kept
 * whole so a campaign can pool the samples of all its seeds (campaign-latency.ts). Input in handling order.
 */
export function latencySamples(ordered: readonly HandledRow[]): number[] {
  return firstHandlingSamples(ordered, (row) => row.handledAtMs);
}

/**
 * The first part of that latency, send to stored: how long each delivered message took to be fetched and
 * committed to the inbox by any process (what the strategy decides), for the same first handlings, sorted. The
 * rest, stored to handled, is how long the main process took to get to it (whether it was running). Rows
 * without a stored time (stores older than the column) are left out.
 */
export function storeLatencySamples(ordered: readonly HandledRow[]): number[] {
  return firstHandlingSamples(ordered, (row) => row.storedAtMs);
}

/**
 * Each delivered message's latency split in two (main-availability.ts): `forced`, what `forcedMs` says the race's
 * faults forced of it (never below 0 nor above the latency), and `beyond`, the rest. Same first handlings as
 * `latencySamples`; both sorted ascending, so they pair by rank, not by message.
 */
export function floorSplitSamples(
  ordered: readonly HandledRow[],
  forcedMs: (sentAtMs: number, handledAtMs: number) => number,
): { forced: number[]; beyond: number[] } {
  const splits = firstHandlings(ordered).map((row) => {
    const latencyMs = Math.max(0, row.handledAtMs - row.sentAtMs);
    const forced = Math.min(latencyMs, Math.max(0, forcedMs(row.sentAtMs, row.handledAtMs)));
    return { forced, beyond: latencyMs - forced };
  });
  const sorted = (samples: number[]): number[] => samples.sort((a, b) => a - b);
  return { forced: sorted(splits.map((split) => split.forced)), beyond: sorted(splits.map((split) => split.beyond)) };
}

function firstHandlingSamples(ordered: readonly HandledRow[], until: (row: HandledRow) => number | null): number[] {
  const samples: number[] = [];
  for (const row of firstHandlings(ordered)) {
    const endMs = until(row);
    if (endMs !== null) samples.push(Math.max(0, endMs - row.sentAtMs));
  }
  return samples.sort((a, b) => a - b);
}

/** Each tagged, timed message's first handling (a duplicate's later handling is not a delivery), in handling order. */
function firstHandlings(ordered: readonly HandledRow[]): Array<HandledRow & { tag: string; sentAtMs: number }> {
  const first = new Set<string>();
  const rows: Array<HandledRow & { tag: string; sentAtMs: number }> = [];
  for (const row of ordered) {
    if (row.tag === null || row.sentAtMs === null || first.has(row.tag)) continue;
    first.add(row.tag);
    rows.push({ ...row, tag: row.tag, sentAtMs: row.sentAtMs });
  }
  return rows;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? null;
}
