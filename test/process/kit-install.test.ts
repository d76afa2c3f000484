// An outside project installs this repository by path and uses `todevice/playwright` from plain Node, as it
// would a published package: `npm install --install-links=false <repo>` in a temporary directory outside the
// repository (a linked install: the package's dependencies resolve from the repository's own node_modules, so it
// needs no registry), then a script imports the entry, starts a homeserver, registers accounts, sends tagged
// messages, arms a fault and gets a verdict, and TypeScript compiles a consumer against the declarations.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tscEntry = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
let consumerDir = '';

const consumerScript = `
import * as kitEntry from 'todevice/playwright';
const kit = await kitEntry.createKit({ seed: 99, homeserver: { db: 'memory', requestLog: false } });
try {
  const { alice, bob } = await kit.accounts.register({ alice: ['WEB', 'PHONE'], bob: 'SENDER' });
  const tags = await kit.sender.toDevice(bob.device, alice.devices.WEB, { count: 4 });
  await kit.homeserver.faults.dropResponses(alice.devices.WEB, { count: 2 });
  const pendingFaults = await kit.homeserver.faults.pending();
  const inspection = await kit.homeserver.inspect(alice.devices.WEB);
  const verdict = await kit.oracle.judge(tags.slice(0, 2));
  console.log(JSON.stringify({
    exports: Object.keys(kitEntry).sort(),
    testIsPlaywright: typeof kitEntry.test === 'function' && typeof kitEntry.test.extend === 'function',
    devices: Object.keys(alice.devices),
    tags,
    pendingFaults,
    queuedTags: inspection.queued.map((row) => row.tag),
    accepted: inspection.accepted,
    verdict: { ok: verdict.ok, pending: verdict.pending, headline: verdict.message.split('\\n')[0] },
  }));
} finally {
  await kit.close();
}
`;

const consumerTypes = `
import { createKit, test, type Verdict } from 'todevice/playwright';

test('typed fixtures', async ({ homeserver, accounts, sender, oracle }) => {
  const { alice } = await accounts.register({ alice: 'WEB' });
  await homeserver.faults.dropResponses(alice.device, { count: 1 });
  const tags: string[] = await sender.toDevice(alice.device, alice.device, { count: 2 });
  const verdict: Verdict = await oracle.judge(tags);
  const lost: string[] = verdict.lost;
  void lost;
});

export async function script(): Promise<number> {
  const kit = await createKit();
  const accepted: number = (await kit.homeserver.inspect({ userId: '@a:localhost', deviceId: 'X' })).accepted;
  await kit.close();
  return accepted;
}
`;

function run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: consumerDir, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  consumerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-kit-consumer-'));
  fs.writeFileSync(path.join(consumerDir, 'package.json'), JSON.stringify({ name: 'kit-consumer', private: true, type: 'module' }));
});

afterAll(() => {
  fs.rmSync(consumerDir, { recursive: true, force: true });
});

describe('todevice/playwright as an installed package', () => {
  it('kit install: a project outside the repository installs it by path, offline, and imports todevice/playwright from plain Node', () => {
    expect(path.relative(repoRoot, consumerDir).startsWith('..')).toBe(true);
    const installed = run('npm', ['install', '--install-links=false', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', repoRoot]);
    expect(installed.status, installed.stderr).toBe(0);
    expect(fs.realpathSync(path.join(consumerDir, 'node_modules', 'todevice'))).toBe(fs.realpathSync(repoRoot));

    fs.writeFileSync(path.join(consumerDir, 'consumer.mjs'), consumerScript);
    const ran = run(process.execPath, ['consumer.mjs']);
    expect(ran.status, ran.stderr).toBe(0);
    const report = JSON.parse(ran.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(report.exports).toEqual(['KitHttpError', 'KitRun', 'chooseSeed', 'createKit', 'describeVerdict', 'expect', 'judgeHandled', 'test', 'todeviceFixtures']);
    expect(report.testIsPlaywright).toBe(true);
    expect(report.devices).toEqual(['WEB', 'PHONE']);
    expect(report.tags).toEqual(['s0-1', 's0-2', 's0-3', 's0-4']);
    expect(report.pendingFaults).toEqual([{ userId: '@alice:localhost', deviceId: 'WEB', fault: { kind: 'drop-response', count: 2, endpoint: 'sync' } }]);
    expect(report.queuedTags).toEqual(report.tags);
    expect(report.accepted).toBe(4);
    expect(report.verdict).toEqual({
      ok: false,
      pending: ['s0-3', 's0-4'],
      headline: 'todevice oracle: 0 lost, 2 pending, 0 duplicated, 0 reordered, 0 unknown, of 4 accepted (seed 99)',
    });
  });

  it('kit install: TypeScript compiles a consumer against the declarations the package exports', () => {
    fs.writeFileSync(path.join(consumerDir, 'consumer.ts'), consumerTypes);
    const args = [tscEntry, '--noEmit', '--strict', '--skipLibCheck', '--target', 'ES2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'consumer.ts'];
    const compiled = run(process.execPath, args);
    expect(compiled.status, compiled.stdout + compiled.stderr).toBe(0);
    fs.writeFileSync(path.join(consumerDir, 'wrong.ts'), `import { createKit } from 'todevice/playwright';\nconst n: string = (await createKit()).run.seed;\n`);
    const refused = run(process.execPath, [...args.slice(0, -1), 'wrong.ts']);
    expect(refused.stdout).toContain("Type 'number' is not assignable to type 'string'");
  });
});
