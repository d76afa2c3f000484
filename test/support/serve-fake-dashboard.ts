/**
 * Serves the dashboard against the simulated backend, for working on the dashboard's looks without a
 * homeserver: `npx tsx test/support/serve-fake-dashboard.ts [port]`, then open the printed URL.
 *
 * Runtime: node. The numbers it shows are made up (see fake-ui-backend.ts); use `todevice start` for real ones.
 */
import { ensureRendererBuilt } from '../../src/cli/renderer-build';
import { startUiHttpBridge } from '../../src/main/host/ui-http-bridge';
import { createFakeUiBackend } from './fake-ui-backend';

const port = Number(process.argv[2] ?? 0);
const renderer = await ensureRendererBuilt();
const backend = createFakeUiBackend();
const bridge = await startUiHttpBridge({ backend, staticDir: renderer.dir, host: '127.0.0.1', port });
process.stdout.write(`Dashboard (simulated backend): ${bridge.launchUrl}\n`);
const stop = (): void => {
  backend.close();
  void bridge.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
