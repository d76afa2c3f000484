/**
 * electron-vite build of the Electron app: the main process (plus the notifier and the main sync process, which
 * Electron runs as utility processes from the same output folder), the sandboxed preload, and the renderer.
 *
 * The same sources also run without Electron: `todevice start` serves the renderer from a plain Node host
 * (DESIGN.md §7), which builds the renderer with vite using `renderer` below.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

/**
 * The CommonJS packages the main-process bundles load (better-sqlite3; libolm's olm.js, imported only when Olm
 * is first needed). Each becomes a module of the bundle that loads the package with `require`, as the plain-Node
 * bundles do (src/main/host/process-entries.ts): an `import` of a CommonJS file makes Node's ESM loader scan it
 * for its export names first (cjs-module-lexer), which for olm.js cost a notifier about 20 ms of its start.
 * The package is still resolved from node_modules when the bundle runs, so better-sqlite3 keeps taking the
 * Electron build of its native binary through `nativeBinding` (src/store/open-store.ts).
 */
const REQUIRED_COMMONJS = ['better-sqlite3', '@matrix-org/olm'];

function requiredCommonJs(packages: readonly string[]): Plugin {
  const prefix = '\0required-commonjs:';
  return {
    name: 'required-commonjs',
    enforce: 'pre',
    resolveId: (source) => (packages.includes(source) ? prefix + source : null),
    load: (id) =>
      id.startsWith(prefix)
        ? `import { createRequire } from 'node:module';\nexport default createRequire(import.meta.url)(${JSON.stringify(id.slice(prefix.length))});\n`
        : null,
  };
}

export default defineConfig({
  main: {
    plugins: [requiredCommonJs(REQUIRED_COMMONJS)],
    build: {
      // Left out of the externalized dependencies so that requiredCommonJs, not an import, loads them.
      externalizeDeps: { exclude: REQUIRED_COMMONJS },
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
