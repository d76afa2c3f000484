/**
 * Loads `@matrix-org/matrix-sdk-crypto-wasm` (matrix-rust-sdk's crypto, the library Element's clients use) once
 * per process and initialises its WebAssembly module.
 *
 * Runtime: node / electron-utility. The import is dynamic so that a process that never touches encryption (the
 * homeserver, `todevice inbox`) never pays the ~5 MB module; the first caller waits for it, later callers get the
 * same promise. A failure to load is not cached, so a transient error can be retried.
 */
import type * as CryptoWasm from '@matrix-org/matrix-sdk-crypto-wasm';

export type CryptoLibrary = typeof CryptoWasm;

let loading: Promise<CryptoLibrary> | undefined;

export function loadCryptoLibrary(): Promise<CryptoLibrary> {
  loading ??= (async () => {
    const library = await import('@matrix-org/matrix-sdk-crypto-wasm');
    await library.initAsync();
    return library;
  })().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
