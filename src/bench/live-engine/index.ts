/**
 * Entry of the live-latency engine process (case 2): the main process's sync engine, built by the same
 * `createProcessEngine` the main sync process uses (`explicit-lease`, 30 s long poll, its own store at
 * `synchronous = FULL`), in a process of its own as in any real deployment, where the app, the homeserver and
 * whoever sends the message never share an event loop. It reports each commit's time on the machine's
 * monotonic clock (see live-engine-protocol.ts). Wires only.
 *
 * Runtime: node. Arguments: `--store FILE`; the account comes in `TODEVICE_BENCH_ACCOUNT` (JSON). Stops on
 * SIGTERM or when the bench disconnects. No kill points: the environment it reads them from is empty.
 */
import { openOlmDevice } from '../../device/olm-device';
import { createProcessEngine } from '../../engine/create-engine';
import type { Account } from '../../store/account';
import { openStore } from '../../store/open-store';
import { LIVE_ENGINE_ACCOUNT_ENV, type LiveEngineMessage } from '../live-engine-protocol';

const LONG_POLL_TIMEOUT_MS = 30_000;

function tell(message: LiveEngineMessage, then?: () => void): void {
  if (process.send === undefined || !process.connected) {
    then?.();
    return;
  }
  process.send(message, undefined, {}, () => then?.());
}

const storeIndex = process.argv.indexOf('--store');
const storePath = storeIndex >= 0 ? process.argv[storeIndex + 1] : undefined;
const accountJson = process.env[LIVE_ENGINE_ACCOUNT_ENV];
if (storePath === undefined || accountJson === undefined) throw new Error(`live engine: --store and ${LIVE_ENGINE_ACCOUNT_ENV} are required`);
const account = JSON.parse(accountJson) as Account;
const store = openStore(storePath, { synchronous: 'FULL' });
let ready = false;
// The device's Olm state, opened as the main sync process opens it (the sync asks for the e2ee extension too).
const device = await openOlmDevice({ store, account, strategy: 'explicit-lease', processName: 'main' });
if (!device.ok) throw new Error(`live engine: ${device.error}`);
const { engine } = createProcessEngine({
  store,
  account,
  processName: 'main',
  strategy: 'explicit-lease',
  env: {},
  olm: device.value.engineHooks(),
  tuning: { longPollTimeoutMs: LONG_POLL_TIMEOUT_MS },
  onEvent: (event) => {
    if (event.kind === 'commit') {
      const atNs = process.hrtime.bigint();
      tell({ kind: 'commit', atNs: atNs.toString(), eventCount: Number(event.detail.eventCount ?? 0) });
    } else if (event.kind === 'request' && !ready && Number(event.detail.timeoutMs) > 0) {
      ready = true;
      tell({ kind: 'ready' });
    }
  },
});
const controller = new AbortController();
const stop = (): void => controller.abort();
process.once('SIGTERM', stop);
process.once('disconnect', stop);
void engine.run(controller.signal).then((summary) => {
  store.close();
  if (summary.kind === 'failed') tell({ kind: 'failed', error: JSON.stringify(summary) }, () => process.exit(1));
  else process.exit(0);
});
