/**
 * The device's Olm state opening while the notifier waits for the lease.
 *
 * Runtime: node / electron-utility. A notifier starts for one push and every millisecond before its notification
 * counts. Opening the Olm state (libolm's WebAssembly compiled and instantiated, the pickle key read, the account
 * unpickled) takes about as long as a lease handoff from a long-polling holder, and neither needs the other. So
 * the notifier announces at once that it wants the lease and opens the device meanwhile, but takes the lease
 * only once the device is open (`whenSettled`): a holder that cannot commit yet holds every other process up for
 * the whole opening, which on a loaded machine is over a second. Whatever the caller does, this module holds any
 * commit back until the state is open. Guarantees:
 * - No batch is committed, and no sync response is handed to the engine, before the device is open: `gate`
 *   wraps the engine's sync transport so that a response is returned only after `opened` settled. The engine
 *   commits a batch straight after its response (no other await in between), inside the transaction in which
 *   `hooks()` decrypts it with the open device, exactly as if the device had been opened first.
 * - A device that cannot be opened commits nothing: the response is dropped and reported to the engine as
 *   `aborted`. Its batch was never acknowledged (a token is sent as `since` only after its commit), so the
 *   server keeps it for the next process; the engine releases the lease and the notifier reports why the
 *   device could not be opened.
 * - `hooks()` called before the device is open is a programmer error and throws (the gate makes it unreachable).
 */
import type { OlmDevice, OlmEngineHooks } from '../device/olm-device';
import type { MatrixClientError } from '../engine/http';
import type { SyncTransport } from '../engine/matrix-client';
import type { Result } from '../shared/result';

/** What the opening needs of the device: its engine hooks (an `OlmDevice`). */
export interface HooksSource {
  engineHooks(): OlmEngineHooks;
}

export class OlmOpening<Device extends HooksSource = OlmDevice> {
  private device: Device | undefined;
  private deviceHooks: OlmEngineHooks | undefined;
  /** Settles once the device is open or known not to open; never rejects. */
  private readonly settled: Promise<boolean>;

  constructor(readonly opened: Promise<Result<Device, string>>) {
    this.settled = opened.then(
      (device) => {
        if (device.ok) {
          this.device = device.value;
          this.deviceHooks = device.value.engineHooks();
        }
        return device.ok;
      },
      () => false,
    );
  }

  /**
   * Settles (never rejects) once the device is open or known not to open: the notifier takes the lease only
   * then, so it never holds the lease while it could not commit (lease-keeper.ts, `acquireWithin`).
   */
  get whenSettled(): Promise<unknown> {
    return this.settled;
  }

  /** The engine's Olm hooks, forwarding to the device once it is open. */
  hooks(): OlmEngineHooks {
    return {
      transformEvents: (events, nowMs) => this.openHooks().transformEvents(events, nowMs),
      afterCommit: (nowMs) => this.openHooks().afterCommit(nowMs),
      e2ee: true,
      onE2ee: (report, nowMs) => this.openHooks().onE2ee(report, nowMs),
    };
  }

  /** `transport`, whose sync responses wait for the device to be open (or are dropped when it cannot be). */
  gate(transport: SyncTransport): SyncTransport {
    const afterOpening = async <T>(response: Promise<Result<T, MatrixClientError>>): Promise<Result<T, MatrixClientError>> => {
      const [result, open] = await Promise.all([response, this.settled]);
      return open ? result : { ok: false, error: { kind: 'aborted' } };
    };
    return {
      slidingSyncToDevice: (request) => afterOpening(transport.slidingSyncToDevice(request)),
      classicSync: (request) => afterOpening(transport.classicSync(request)),
    };
  }

  private openHooks(): OlmEngineHooks {
    if (this.deviceHooks === undefined || this.device === undefined) throw new Error('the Olm device is used before it was opened');
    return this.deviceHooks;
  }
}
