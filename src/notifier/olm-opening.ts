/**
 * The device's Olm state opening while the notifier waits for the lease, or only once something needs it.
 *
 * Runtime: node / electron-utility. A notifier starts for one push and every millisecond before its notification
 * counts. Opening the Olm state (libolm's WebAssembly compiled and instantiated, the pickle key read, the account
 * unpickled) takes about as long as a lease handoff from a long-polling holder, and neither needs the other: the
 * Olm state is needed only when a batch commits (its to-device events decrypt inside the commit's transaction).
 * So the notifier starts opening at once and announces meanwhile that it wants the lease, but takes the lease
 * only once an opening under way is done (`whenSettled`): on a loaded machine opening takes over a second, and a
 * holder that cannot commit yet would hold every other process up for all of it. Whatever the caller does, this
 * module holds back every commit that needs the state until it is open.
 *
 * Opening on demand (`lazy`): libolm costs a notifier some 5 MB of resident memory (V8's WebAssembly compiler
 * paged in, the module's code and heap) and two background compile threads' CPU beside the main process, and
 * many runs never use it: a batch without an Olm-encrypted event decrypts nothing (`needsOlmDecryption`: its rows
 * are its events as they are), and a push that is not encrypted needs no Megolm key. A lazy opening starts only
 * when the first of these comes: `start()` (the caller learnt it needs the state: an encrypted pushed event,
 * Olm upkeep waiting), or a sync response carrying an Olm-encrypted event.
 *
 * Guarantees:
 * - No batch that needs decryption is committed, and no sync response carrying one is handed to the engine,
 *   before the device is open: `gate` wraps the engine's sync transport so that such a response is returned only
 *   after `opened` settled (eager: every response waits, as if the device had been opened first). The engine
 *   commits a batch straight after its response (no other await in between), inside the transaction in which
 *   `hooks()` decrypts it with the open device.
 * - A batch committed before the device is open holds no Olm-encrypted event, and its rows are exactly what the
 *   device's decryption returns for it (the events unchanged; decryption reads and writes nothing for it). Its
 *   e2ee fields (the server's key counts) are recorded through `beforeOpen.onE2ee`, which needs no libolm.
 * - A device that cannot be opened commits nothing it would have had to decrypt: the response is dropped and
 *   reported to the engine as `aborted`. Its batch was never acknowledged (a token is sent as `since` only after
 *   its commit), so the server keeps it for the next process; the engine releases the lease and the notifier
 *   reports why the device could not be opened.
 * - `hooks()` asked to decrypt before the device is open is a programmer error and throws (the gate makes it
 *   unreachable); the throw inside the commit's transaction rolls the batch back, so even then nothing is lost.
 */
import { needsOlmDecryption } from '../crypto/olm-decrypt';
import type { OlmDevice, OlmEngineHooks } from '../device/olm-device';
import type { MatrixClientError } from '../engine/http';
import type { SyncTransport } from '../engine/matrix-client';
import type { E2eeReport } from '../engine/sync-responses';
import type { Result } from '../shared/result';
import type { ToDeviceEvent } from '../shared/wire';

/** What the opening needs of the device: its engine hooks (an `OlmDevice`). */
export interface HooksSource {
  engineHooks(): OlmEngineHooks;
}

/** Opening on demand: what stands in for the device's hooks until it is open. */
export interface BeforeOpen {
  /** A sync response's e2ee fields, committed while the device is not open (`recordE2eeReport` on the shared state). */
  onE2ee: (report: E2eeReport, nowMs: number) => void;
}

export class OlmOpening<Device extends HooksSource = OlmDevice> {
  private device: Device | undefined;
  private deviceHooks: OlmEngineHooks | undefined;
  private opening: { opened: Promise<Result<Device, string>>; settled: Promise<boolean> } | undefined;

  /**
   * `open` opens the device; it is called once, at once unless `beforeOpen` is given (opening on demand, see
   * the header).
   */
  constructor(
    private readonly open: () => Promise<Result<Device, string>>,
    private readonly beforeOpen?: BeforeOpen,
  ) {
    if (beforeOpen === undefined) this.start();
  }

  /** Whether opening has started (always, unless on demand and nothing needed the device yet). */
  get started(): boolean {
    return this.opening !== undefined;
  }

  /** Starts opening, if it has not started; resolves once the device is open or known not to open, never rejects. */
  start(): Promise<Result<Device, string>> {
    if (this.opening === undefined) {
      const opened = this.open().catch((error: unknown): Result<Device, string> => ({ ok: false, error: error instanceof Error ? error.message : String(error) }));
      const settled = opened.then((device) => {
        if (device.ok) {
          this.device = device.value;
          this.deviceHooks = device.value.engineHooks();
        }
        return device.ok;
      });
      this.opening = { opened, settled };
    }
    return this.opening.opened;
  }

  /** The device, opening it if it has not started. */
  get opened(): Promise<Result<Device, string>> {
    return this.start();
  }

  /**
   * Settles (never rejects) once an opening that has started is done, the device open or known not to open; at
   * once when none has started (on demand, nothing needed the device yet: a batch without an Olm-encrypted event
   * commits without it). The notifier takes the lease only then (lease-keeper.ts, `acquireWithin`), so it never
   * holds the lease, and every other process up, while it could not commit what it fetches.
   */
  get whenSettled(): Promise<unknown> {
    return this.opening?.settled ?? Promise.resolve();
  }

  /** The engine's Olm hooks, forwarding to the device once it is open. */
  hooks(): OlmEngineHooks {
    return {
      transformEvents: (events, nowMs) => (this.committableBeforeOpen(events) ? [...events] : this.openHooks().transformEvents(events, nowMs)),
      afterCommit: (nowMs) => this.deviceHooks?.afterCommit(nowMs),
      e2ee: true,
      onE2ee: (report, nowMs) => (this.deviceHooks === undefined && this.beforeOpen !== undefined ? this.beforeOpen.onE2ee(report, nowMs) : this.openHooks().onE2ee(report, nowMs)),
    };
  }

  /** `transport`, whose sync responses wait for the device to be open when they need it (or are dropped when it cannot be). */
  gate(transport: SyncTransport): SyncTransport {
    const afterOpening = async <T extends { events: ToDeviceEvent[] }>(response: Promise<Result<T, MatrixClientError>>): Promise<Result<T, MatrixClientError>> => {
      if (this.beforeOpen !== undefined) {
        // On demand: a response with nothing to decrypt commits at once, whether or not the device is opening.
        const early = await response;
        if (!early.ok || !needsOlmDecryption(early.value.events)) return early;
      }
      const [result, open] = await Promise.all([response, this.settledOpening()]);
      return open ? result : { ok: false, error: { kind: 'aborted' } };
    };
    return {
      slidingSyncToDevice: (request) => afterOpening(transport.slidingSyncToDevice(request)),
      classicSync: (request) => afterOpening(transport.classicSync(request)),
    };
  }

  /** On demand, before the device is open: a batch with nothing to decrypt, whose rows are its events. */
  private committableBeforeOpen(events: readonly ToDeviceEvent[]): boolean {
    return this.beforeOpen !== undefined && this.deviceHooks === undefined && !needsOlmDecryption(events);
  }

  private settledOpening(): Promise<boolean> {
    this.start();
    if (this.opening === undefined) throw new Error('unreachable: start() sets the opening');
    return this.opening.settled;
  }

  private openHooks(): OlmEngineHooks {
    if (this.deviceHooks === undefined || this.device === undefined) throw new Error('the Olm device is used before it was opened');
    return this.deviceHooks;
  }
}
