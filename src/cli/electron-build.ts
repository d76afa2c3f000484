/**
 * Builds the Electron app (`electron-vite build` into `out/`) when the build is missing or older than its
 * sources, for `todevice start` and the Playwright `electron` project.
 *
 * Runtime: node. Every file under src/ can end up in one of the three bundles, so all of src/ (plus the build
 * config and the lockfile) is stamped; the stamp lives in `out/` next to the bundles. A build counts as present
 * only when every file the main process loads is there: its own bundle, the two utility-process entries it starts
 * (src/main/electron/app-paths.ts), the preload and the renderer. The better-sqlite3 binary for Electron is not
 * part of this build; src/cli/electron-sqlite.ts provides it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readStamp, sourceStamp, writeStamp } from './build-stamp';
import { projectRoot } from './renderer-build';

/** The bundles under out/ that the built app loads; see electron.vite.config.ts and app-paths.ts. */
const ELECTRON_BUNDLES = ['main/index.js', 'main/notifier.js', 'main/sync-process.js', 'preload/index.cjs', 'renderer/index.html'];

/**
 * Returns the app folder to launch Electron on (the project root, whose package.json `main` is the bundle).
 * `log` gets one line when a build is needed, since it takes a few seconds.
 */
export function ensureElectronBuilt(root = projectRoot, log: (line: string) => void = () => {}): string {
  const stamp = sourceStamp([
    path.join(root, 'src'),
    path.join(root, 'electron.vite.config.ts'),
    path.join(root, 'package-lock.json'),
  ]);
  const stampFile = path.join(root, 'out', '.todevice-electron-build-stamp');
  const built = ELECTRON_BUNDLES.every((file) => fs.existsSync(path.join(root, 'out', file)));
  if (built && readStamp(stampFile) === stamp) return root;
  log('building the Electron app (electron-vite build)…');
  const cli = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  const result = spawnSync(process.execPath, [cli, 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`electron-vite build failed (exit ${result.status ?? result.signal})`);
  writeStamp(stampFile, stamp);
  return root;
}
