/**
 * Entry of the handoff floor (case 3): the least a notification process does before it can show anything. A
 * bare Node process that starts, opens the device's SQLite store (better-sqlite3, WAL, as the notifier opens it),
 * makes one HTTP request to the homeserver, reports over IPC and exits. No crypto library, no sync, no lease.
 * Started exactly as the notifier is (bundled, plain `node`, src/main/host/process-entries.ts), so the difference
 * between the two is the notifier's own work.
 *
 * Runtime: node. Arguments: `--store FILE --url URL`. Reports `{ kind: 'floor-done' }`, or `{ kind: 'failed' }`.
 */
import Database from 'better-sqlite3';
import { requiredArgument } from '../floor-arguments';
import http from 'node:http';

const db = new Database(requiredArgument('handoff floor', '--store'));
db.pragma('journal_mode = WAL');
db.prepare('SELECT count(*) FROM sqlite_master').get();
http
  .get(new URL('/_matrix/client/versions', requiredArgument('handoff floor', '--url')), (response) => {
    response.resume();
    response.on('end', () => {
      db.close();
      process.send?.({ kind: 'floor-done', status: response.statusCode }, undefined, {}, () => process.exit(0));
    });
  })
  .on('error', (error) => process.send?.({ kind: 'failed', error: String(error) }, undefined, {}, () => process.exit(1)));
