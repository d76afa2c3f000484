/**
 * What the Electron app runs against, read from the environment `todevice start` sets (Electron's own
 * command-line switches share argv with Chromium's, so the environment is the cleaner channel).
 *
 * Runtime: electron-main. `TODEVICE_DATA_DIR` (default: `<userData>/app`), `TODEVICE_HOMESERVER_URL` (default:
 * the embedded homeserver), `TODEVICE_STRATEGY` (default: the host's, `explicit-lease`), `TODEVICE_RETENTION`
 * (the `--retain` limits as JSON; default: the store's defaults). An unknown strategy or a malformed retention
 * is a usage error reported in one line.
 */
import path from 'node:path';
import { isStrategy, STRATEGIES, type Strategy } from '../../shared/strategies';
import { resolveRetention, type RetentionOptions } from '../../store/retention-policy';

export interface ElectronAppOptions {
  dataDir: string;
  homeserverUrl: string | undefined;
  strategy: Strategy | undefined;
  retention: RetentionOptions | undefined;
}

export function readAppOptions(env: NodeJS.ProcessEnv, userDataDir: string): ElectronAppOptions {
  const strategy = env.TODEVICE_STRATEGY || undefined;
  if (strategy !== undefined && !isStrategy(strategy)) {
    throw new Error(`TODEVICE_STRATEGY="${strategy}" is not one of ${STRATEGIES.join(', ')}`);
  }
  return {
    dataDir: env.TODEVICE_DATA_DIR || path.join(userDataDir, 'app'),
    homeserverUrl: env.TODEVICE_HOMESERVER_URL || undefined,
    strategy,
    retention: readRetention(env.TODEVICE_RETENTION),
  };
}

function readRetention(text: string | undefined): RetentionOptions | undefined {
  if (!text) return undefined;
  try {
    const options = JSON.parse(text) as RetentionOptions;
    resolveRetention(options);
    return options;
  } catch (error) {
    throw new Error(`TODEVICE_RETENTION is not a valid retention policy: ${error instanceof Error ? error.message : String(error)}`);
  }
}
