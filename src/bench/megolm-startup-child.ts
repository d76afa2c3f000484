/**
 * One notifier-like process for src/bench/megolm-startup.ts: start, load one Megolm implementation, import one
 * room key, decrypt one room event, report timings and peak memory on stdout (one JSON line), exit.
 *
 * Runtime: node (bundled by the parent with esbuild, the crypto libraries external, as the harness starts the
 * notifier). Times are milliseconds since this process started (`performance.now()` counts from the process's
 * time origin), so they include Node's own start-up, like a notifier's time to its first notification.
 * `none` loads nothing and measures the floor: Node, the bundle and reading the fixture.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createMegolmDecryptor, type MegolmImplementation } from '../crypto/megolm-decryptor';
import type { ExportedRoomKey } from '../shared/room-key-protocol';
import type { RoomEvent } from '../shared/wire';

interface Fixture {
  key: ExportedRoomKey;
  event: RoomEvent;
  body: string;
}

async function main(): Promise<void> {
  const implementation = process.argv[2] as MegolmImplementation | 'none';
  const fixture = JSON.parse(fs.readFileSync(process.argv[3] ?? '', 'utf8')) as Fixture;
  const startedMs = performance.now();
  if (implementation === 'none') {
    report({ implementation, startedMs, loadedMs: startedMs, importedMs: startedMs, decryptedMs: startedMs, ok: true });
    return;
  }
  const decryptor = await createMegolmDecryptor(implementation, '@bob:localhost', 'BOBDEVICE');
  const loadedMs = performance.now();
  await decryptor.importKeys([fixture.key]);
  const importedMs = performance.now();
  const outcome = await decryptor.decrypt(fixture.event);
  const decryptedMs = performance.now();
  const ok = outcome.kind === 'decrypted' && outcome.content.body === fixture.body;
  decryptor.close();
  report({ implementation, startedMs, loadedMs, importedMs, decryptedMs, ok });
}

function report(figures: Record<string, unknown>): void {
  // maxRSS is in kilobytes (getrusage's ru_maxrss on Linux): the peak over the whole process life.
  process.stdout.write(`${JSON.stringify({ ...figures, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

void main();
