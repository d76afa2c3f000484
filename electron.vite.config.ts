/**
 * electron-vite build of the Electron app: the main process (plus the notifier and the main sync process, which
 * Electron runs as utility processes from the same output folder), the sandboxed preload, and the renderer.
 *
 * The same sources also run without Electron: `todevice start` serves the renderer from a plain Node host
 * (DESIGN.md §7), which builds the renderer with vite using `renderer` below.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          notifier: resolve(__dirname, 'src/notifier/index.ts'),
          'sync-process': resolve(__dirname, 'src/main/sync-process/index.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        // A sandboxed preload cannot require() its own chunks, so it is emitted as one CommonJS file.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    build: {
      rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
  },
});
