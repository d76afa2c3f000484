/**
 * Builds the dashboard (src/renderer) with vite for browser mode, into `out/renderer`, the folder electron-vite
 * also writes it to, and reuses the build while no renderer or shared source changed.
 *
 * Runtime: node. The vite options mirror `renderer` in electron.vite.config.ts (same root and input), with a
 * relative `base` so the same files load from `file://` in Electron and from the HTTP bridge in a browser.
 * That config file cannot be imported here: electron-vite compiles it with its own loader.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStamp, sourceStamp, writeStamp } from './build-stamp';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const stampName = '.todevice-build-stamp';

export interface RendererBuild {
  dir: string;
  /** False when an up-to-date earlier build was reused. */
  built: boolean;
}

/** Returns the built renderer folder, building it first when it is missing or older than its sources. */
export async function ensureRendererBuilt(root = projectRoot): Promise<RendererBuild> {
  const dir = path.join(root, 'out', 'renderer');
  const stamp = sourceStamp([
    path.join(root, 'src', 'renderer'),
    path.join(root, 'src', 'shared'),
    path.join(root, 'node_modules', 'uplot', 'package.json'),
  ]);
  const stampFile = path.join(dir, stampName);
  if (readStamp(stampFile) === stamp && fs.existsSync(path.join(dir, 'index.html'))) return { dir, built: false };
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: path.join(root, 'src', 'renderer'),
    base: './',
    logLevel: 'warn',
    build: {
      outDir: dir,
      emptyOutDir: true,
      rollupOptions: { input: { index: path.join(root, 'src', 'renderer', 'index.html') } },
    },
  });
  writeStamp(stampFile, stamp);
  return { dir, built: true };
}
