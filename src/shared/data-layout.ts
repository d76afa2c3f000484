/**
 * File names inside a client data directory. The main process, the notifier and the CLI all open the same
 * store by this name, so it lives here rather than in any one of them.
 *
 * Runtime: common.
 */
export const CLIENT_DB_FILE = 'client.db';

/** The embedded homeserver's database, beside the store, in the app's data directory. */
export const HOMESERVER_DB_FILE = 'homeserver.db';

/** Written by a running app host (its PID), so `todevice reset` does not empty a directory in use. */
export const HOST_PID_FILE = 'host.pid';
