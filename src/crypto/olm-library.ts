/**
 * Loads `@matrix-org/olm` (libolm compiled to WebAssembly) once per process. The only module of the tree that
 * imports it (eslint enforces that), so vodozemac can replace it here.
 *
 * Runtime: node / electron-utility. `loadOlm()` is asynchronous (it compiles the .wasm) and is awaited once when a
 * process starts; everything after that is synchronous through `olm()`, because Olm state changes run inside a
 * better-sqlite3 transaction, which cannot await. Guarantees:
 * - The module is imported dynamically, so a process that never touches Olm never pays for it, and it stays a
 *   package import: electron-vite keeps `dependencies` external and the harness bundles keep it external by
 *   path, so `olm.js` runs from its own folder and finds `olm.wasm` beside itself.
 * - Under Node, libolm's Emscripten start-up installs process-wide `uncaughtException` and `unhandledRejection`
 *   listeners that rethrow. They would replace Node's own reporting of an unhandled rejection in every process
 *   that loads Olm, so they are removed again right after start-up; nothing of libolm uses them.
 * - A failed load is not cached, so a transient error can be retried.
 *
 * libolm is deprecated upstream in favour of vodozemac and has known timing side channels (CVE-2024-45191,
 * CVE-2024-45192, CVE-2024-45193). It is used because vodozemac's only JavaScript binding, matrix-rust-sdk's
 * `OlmMachine` in WebAssembly, keeps its store in one process's memory or in IndexedDB, which two OS processes
 * cannot share (the README's "Encryption" section says more).
 */
import type * as OlmModule from '@matrix-org/olm';

export type OlmLibrary = typeof OlmModule;
export type OlmAccount = OlmModule.Account;
export type OlmSession = OlmModule.Session;
export type OlmUtility = OlmModule.Utility;
export type OlmInboundGroupSession = OlmModule.InboundGroupSession;
export type OlmOutboundGroupSession = OlmModule.OutboundGroupSession;

let loaded: OlmLibrary | undefined;
let loading: Promise<OlmLibrary> | undefined;

export function loadOlm(): Promise<OlmLibrary> {
  if (loaded !== undefined) return Promise.resolve(loaded);
  loading ??= initialise().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** The loaded library. Throws (a programmer error) when `loadOlm()` has not completed in this process. */
export function olm(): OlmLibrary {
  if (loaded === undefined) throw new Error('libolm is not loaded: await loadOlm() when the process starts');
  return loaded;
}

async function initialise(): Promise<OlmLibrary> {
  const imported = (await import('@matrix-org/olm')) as OlmLibrary & { default?: OlmLibrary };
  // olm.js is CommonJS: its `module.exports` arrives as the default export.
  const library = imported.default ?? imported;
  const before = {
    uncaughtException: new Set(process.listeners('uncaughtException')),
    unhandledRejection: new Set(process.listeners('unhandledRejection')),
  };
  try {
    await library.init();
  } finally {
    for (const listener of process.listeners('uncaughtException')) {
      if (!before.uncaughtException.has(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!before.unhandledRejection.has(listener)) process.removeListener('unhandledRejection', listener);
    }
  }
  loaded = library;
  return library;
}

/** Frees libolm objects (their memory lives in the WebAssembly heap, not the JavaScript one). */
export function freeAll(...objects: Array<{ free(): void } | undefined>): void {
  for (const object of objects) object?.free();
}
