/**
 * Forwards one UI API call to the backend, the same way for both transports (Electron IPC and the HTTP bridge).
 *
 * Runtime: node. The backend reports expected failures as `UiResult` values; a backend that throws has a bug,
 * and this turns it into a value all the same (kind `internal`), because a thrown error does not cross IPC or
 * HTTP with its type intact and must not take the transport down.
 */
import type { UiBackend, UiChannel, UiResult } from '../../shared/ui-api';

export async function invokeUiChannel(backend: UiBackend, channel: UiChannel, args: object): Promise<UiResult<unknown>> {
  try {
    const call = backend[channel] as (args: object) => Promise<UiResult<unknown>>;
    return await call.call(backend, args);
  } catch (error) {
    return uiFailure('internal', `${channel} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function uiFailure(kind: string, message: string): { ok: false; error: { kind: string; message: string } } {
  return { ok: false, error: { kind, message } };
}

/** True for a JSON-like object (the shape of every channel's arguments), false for arrays, null and primitives. */
export function isArgsObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
