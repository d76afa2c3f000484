/**
 * Defensive parsing of sync responses into what the engine needs.
 *
 * Runtime: common. A malformed response is an `http`-kind error value (with the 2xx status it came with), never a
 * crash. Rules from MSC3885/DESIGN.md §3: `next_batch` is required when the extension is enabled (its absence is a
 * protocol error); a missing `events` means `[]`; the extension may answer under `to_device` or MSC4538's
 * `org.matrix.msc4538.to_device`. Events that are not `{type, sender, content}` objects are left out and counted
 * (`malformedEvents`) so the anomaly is visible in the event log rather than crashing the loop forever. The
 * end-to-end encryption fields (one-time key counts, unused fallback key types, changed device lists) come along
 * when present (`e2ee`).
 */
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import { E2EE_EXTENSION, TO_DEVICE_EXTENSION, TO_DEVICE_EXTENSION_MSC4538, type ToDeviceEvent } from '../shared/wire';
import type { MatrixClientError } from './http';

export interface ToDeviceBatch {
  nextBatch: string;
  events: ToDeviceEvent[];
  malformedEvents: number;
  /** The end-to-end encryption fields, when the server sent them (MSC3884 `e2ee`, or classic `/sync`'s). */
  e2ee?: E2eeReport;
}

/** What the server said about our keys and others' devices in one sync response. */
export interface E2eeReport {
  oneTimeKeyCounts: Record<string, number>;
  /** null when the server did not say (older servers leave the field out). */
  unusedFallbackKeyTypes: string[] | null;
  /** Users whose device list changed since the position the request stood for. */
  changedUsers: string[];
}

export interface SlidingToDeviceBatch extends ToDeviceBatch {
  /** The connection position for the next request; undefined if the server sent none. */
  pos: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function protocolError(status: number, message: string): { ok: false; error: MatrixClientError } {
  return err({ kind: 'http', status, message: `protocol error: ${message}` });
}

export function parseSlidingSyncToDevice(body: unknown, status = 200): Result<SlidingToDeviceBatch, MatrixClientError> {
  if (!isRecord(body)) return protocolError(status, 'sliding sync response is not an object');
  const extensions = isRecord(body.extensions) ? body.extensions : {};
  const extension = extensions[TO_DEVICE_EXTENSION] ?? extensions[TO_DEVICE_EXTENSION_MSC4538];
  if (!isRecord(extension)) return protocolError(status, 'to_device extension missing although enabled');
  const batch = parseToDeviceSection(extension, status);
  if (!batch.ok) return batch;
  const pos = typeof body.pos === 'string' ? body.pos : undefined;
  const e2ee = parseE2eeFields(extensions[E2EE_EXTENSION]);
  return ok({ ...batch.value, pos, ...(e2ee === undefined ? {} : { e2ee }) });
}

export function parseClassicSync(body: unknown, status = 200): Result<ToDeviceBatch, MatrixClientError> {
  if (!isRecord(body)) return protocolError(status, '/sync response is not an object');
  if (typeof body.next_batch !== 'string') return protocolError(status, '/sync response has no next_batch');
  const section = isRecord(body.to_device) ? body.to_device : {};
  const events = parseEvents(section.events);
  const e2ee = parseE2eeFields(body);
  return ok({ nextBatch: body.next_batch, events: events.events, malformedEvents: events.malformed, ...(e2ee === undefined ? {} : { e2ee }) });
}

/**
 * The e2ee fields of an extension object or a classic response, or undefined when it has no one-time key counts.
 * Malformed members are left out rather than failing the batch: the to-device events matter more than a count.
 */
export function parseE2eeFields(raw: unknown): E2eeReport | undefined {
  if (!isRecord(raw) || !isRecord(raw.device_one_time_keys_count)) return undefined;
  const oneTimeKeyCounts: Record<string, number> = {};
  for (const [algorithm, count] of Object.entries(raw.device_one_time_keys_count)) {
    if (typeof count === 'number' && Number.isInteger(count) && count >= 0) oneTimeKeyCounts[algorithm] = count;
  }
  const fallback = raw.device_unused_fallback_key_types;
  const unusedFallbackKeyTypes = Array.isArray(fallback) ? fallback.filter((item): item is string => typeof item === 'string') : null;
  const lists = isRecord(raw.device_lists) ? raw.device_lists : {};
  const changedUsers = Array.isArray(lists.changed) ? lists.changed.filter((item): item is string => typeof item === 'string') : [];
  return { oneTimeKeyCounts, unusedFallbackKeyTypes, changedUsers };
}

function parseToDeviceSection(section: Record<string, unknown>, status: number): Result<ToDeviceBatch, MatrixClientError> {
  if (typeof section.next_batch !== 'string' || section.next_batch === '') {
    return protocolError(status, 'to_device.next_batch missing although enabled');
  }
  const events = parseEvents(section.events);
  return ok({ nextBatch: section.next_batch, events: events.events, malformedEvents: events.malformed });
}

function parseEvents(raw: unknown): { events: ToDeviceEvent[]; malformed: number } {
  if (!Array.isArray(raw)) return { events: [], malformed: raw === undefined || raw === null ? 0 : 1 };
  const events: ToDeviceEvent[] = [];
  let malformed = 0;
  for (const item of raw) {
    if (isRecord(item) && typeof item.type === 'string' && typeof item.sender === 'string' && isRecord(item.content)) {
      events.push({ type: item.type, sender: item.sender, content: item.content });
    } else {
      malformed += 1;
    }
  }
  return { events, malformed };
}
