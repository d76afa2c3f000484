/**
 * The environment variable that hands the Electron app a better-sqlite3 binary built for Electron's ABI.
 *
 * Runtime: common. `todevice start` sets it to the binary it found or built in its cache (src/cli/electron-sqlite.ts),
 * the Electron main process checks that the binary loads before it opens anything
 * (src/main/electron/sqlite-binding.ts), and the store passes it to better-sqlite3's `nativeBinding` in every
 * Electron process, utility processes included, since they inherit the environment (src/store/open-store.ts).
 * Under plain Node it is ignored: the build in node_modules is Node's own.
 */
export const SQLITE_ELECTRON_BINDING_ENV = 'TODEVICE_SQLITE_ELECTRON_BINDING';
