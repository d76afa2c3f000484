/**
 * File names inside a client data directory. The main process, the notifier and the CLI all open the same
 * store by this name, so it lives here rather than in any one of them.
 *
 * Runtime: common.
 */
export const CLIENT_DB_FILE = 'client.db';
