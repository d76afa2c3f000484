/**
 * What a notifier pays to decrypt ONE Megolm room event: process start to plaintext, and peak memory, with
 * matrix-rust-sdk's `OlmMachine` (WebAssembly, today's RoomDecryptor) and with libolm's `InboundGroupSession`.
 *
 * Runtime: node. Run: `npx tsx src/bench/megolm-startup.ts [--runs N]` (default 9). It encrypts one message with
 * the rust-sdk sender (src/crypto/room-encryptor.ts) once, bundles megolm-startup-child.ts with esbuild (the
 * crypto libraries external, as the harness bundles the notifier), then starts the child N times per
 * implementation, interleaved so a slow moment of this shared machine hits all of them alike, plus a floor that
 * loads nothing. It prints medians: wall time from spawn to exit, the child's own time from its start to the
 * decrypted event and to the library being ready, and peak resident memory, with the machine's load average
 * (on a shared machine the times move with it; the memory figures hardly do). Every run must decrypt the
 * message, or the script fails.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { RoomEncryptor } from '../crypto/room-encryptor';
import { median } from './stats';

const run = promisify(execFile);
const KINDS = ['none', 'rust-sdk', 'libolm'] as const;
type Kind = (typeof KINDS)[number];

interface ChildReport {
  implementation: Kind;
  loadedMs: number;
  importedMs: number;
  decryptedMs: number;
  ok: boolean;
  maxRssKb: number;
}

export interface StartupFigures {
  kind: Kind;
  runs: number;
  wallMs: number;
  decryptedAtMs: number;
  loadMs: number;
  peakRssMb: number;
}

export async function measureMegolmStartup(runs: number): Promise<StartupFigures[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-megolm-startup-'));
  try {
    const fixture = path.join(dir, 'fixture.json');
    fs.writeFileSync(fixture, JSON.stringify(await makeFixture()));
    const child = await bundleChild(dir);
    const reports = new Map<Kind, Array<ChildReport & { wallMs: number }>>(KINDS.map((kind) => [kind, []]));
    for (let round = 0; round < runs; round += 1) {
      for (const kind of KINDS) {
        const started = performance.now();
        const { stdout } = await run(process.execPath, [child, kind, fixture], { timeout: 60_000 });
        const wallMs = performance.now() - started;
        const report = JSON.parse(stdout.trim()) as ChildReport;
        if (!report.ok) throw new Error(`${kind}: the child did not decrypt the message`);
        reports.get(kind)?.push({ ...report, wallMs });
      }
    }
    return KINDS.map((kind) => {
      const samples = reports.get(kind) ?? [];
      return {
        kind,
        runs: samples.length,
        wallMs: median(samples.map((sample) => sample.wallMs)),
        decryptedAtMs: median(samples.map((sample) => sample.decryptedMs)),
        loadMs: median(samples.map((sample) => sample.loadedMs)),
        peakRssMb: median(samples.map((sample) => sample.maxRssKb / 1024)),
      };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function makeFixture(): Promise<unknown> {
  const encryptor = await RoomEncryptor.create({ userId: '@alice:localhost', deviceId: 'ALICEDEVICE' });
  try {
    const body = 'the pushed message';
    const message = await encryptor.encrypt('!bench:localhost', 'm.room.message', { msgtype: 'm.text', body });
    const event = { event_id: '$bench', room_id: '!bench:localhost', type: message.type, sender: '@alice:localhost', origin_server_ts: 1, content: message.content };
    return { key: message.newRoomKey, event, body };
  } finally {
    encryptor.close();
  }
}

async function bundleChild(dir: string): Promise<string> {
  const esbuild = (await import('esbuild')) as typeof import('esbuild');
  const cryptoLibrary = import.meta.resolve('@matrix-org/matrix-sdk-crypto-wasm');
  const olmLibrary = pathToFileURL(createRequire(import.meta.url).resolve('@matrix-org/olm')).href;
  const outfile = path.join(dir, 'child.mjs');
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./megolm-startup-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    plugins: [
      { name: 'external-crypto', setup: (build) => void build.onResolve({ filter: /^@matrix-org\/matrix-sdk-crypto-wasm$/ }, () => ({ path: cryptoLibrary, external: true })) },
      { name: 'external-olm', setup: (build) => void build.onResolve({ filter: /^@matrix-org\/olm$/ }, () => ({ path: olmLibrary, external: true })) },
    ],
  });
  return outfile;
}

export function formatStartupTable(figures: readonly StartupFigures[]): string {
  const rows = figures.map((figure) =>
    [figure.kind.padEnd(9), figure.wallMs.toFixed(0).padStart(8), figure.decryptedAtMs.toFixed(0).padStart(13), figure.loadMs.toFixed(0).padStart(9), figure.peakRssMb.toFixed(1).padStart(10)].join('  '),
  );
  const header = ['decryptor', 'wall ms', 'decrypted@ms', 'loaded@ms', 'peak RSS MB'].join('  ');
  const load = os.loadavg().map((value) => value.toFixed(1)).join(' ');
  return [`one Megolm event in a fresh process, medians of ${figures[0]?.runs ?? 0} runs (load average ${load}, ${os.cpus().length} cores)`, header, ...rows].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const index = process.argv.indexOf('--runs');
  const runs = index === -1 ? 9 : Number(process.argv[index + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${process.argv[index + 1]}`);
  process.stdout.write(`${formatStartupTable(await measureMegolmStartup(runs))}\n`);
}
