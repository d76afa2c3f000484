import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { prepareEntries } from './src/harness/process-entries';

const src = '/tmp/todevice-race-explicit-lease-EWfuzE';
const entries = await prepareEntries();
console.log('mode', entries.mode);
for (let i = 0; i < 6; i += 1) {
  const dir = `/tmp/mstart/d${i}`;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  const db = new Database(path.join(dir, 'client.db'));
  db.exec("DROP TRIGGER cursors_move_forward_only; UPDATE cursors SET seq = 0 WHERE consumer = 'main'; DELETE FROM handled WHERE consumer = 'main'");
  const t0 = Date.now();
  const p = entries.start('main-sync', ['--data', dir, '--strategy', 'explicit-lease'], {});
  let first = -1;
  while (Date.now() - t0 < 5000) {
    const n = (db.prepare("SELECT count(*) AS n FROM handled WHERE consumer = 'main'").get() as { n: number }).n;
    if (n > 0) { first = Date.now() - t0; break; }
    await new Promise((r) => setTimeout(r, 2));
  }
  console.log(`run ${i}: first handled after ${first} ms`);
  p.child.kill('SIGKILL');
  await p.exited;
  db.close();
}
entries.dispose();
