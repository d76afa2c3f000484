// Each `todevice` subcommand loads what its action runs only when it runs: `--help` and `--version` load no
// SQLite, homeserver, host or bench code, while a command's own action still loads what it needs. Every process
// the tests, the harness and the bench start through `todevice` pays for what the entry loads.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

/**
 * Runs the CLI entry in-process with these arguments and answers the packages it loaded through CommonJS
 * (better-sqlite3 is one: every module that opens a database pulls it in).
 */
async function packagesLoadedBy(args: string[]): Promise<string[]> {
  const probe = `
    import { register } from 'tsx/esm/api';
    import { createRequire } from 'node:module';
    register();
    process.argv = [process.argv[0], 'todevice', ...${JSON.stringify(args)}];
    // On exit, since a command that fails ends the process itself.
    process.on('exit', () => {
      const loaded = Object.keys(createRequire(import.meta.url).cache)
        .map((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file)?.[1])
        .filter((name) => name !== undefined);
      process.stderr.write('LOADED ' + JSON.stringify([...new Set(loaded)]) + '\\n');
    });
    await import('./src/cli/index.ts');
  `;
  const { stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], { cwd: repoRoot }).catch(
    (error: { stderr?: string }) => ({ stderr: error.stderr ?? '' }),
  );
  const line = stderr.split('\n').find((text) => text.startsWith('LOADED '));
  if (line === undefined) throw new Error(`the probe printed no LOADED line:\n${stderr}`);
  return JSON.parse(line.slice('LOADED '.length)) as string[];
}

describe('todevice start-up', () => {
  it('--help and --version load no database code; a command that reads a store does', async () => {
    expect(await packagesLoadedBy(['--help'])).not.toContain('better-sqlite3');
    expect(await packagesLoadedBy(['--version'])).not.toContain('better-sqlite3');
    expect(await packagesLoadedBy(['bench', '--help'])).not.toContain('better-sqlite3');
    // The probe does see it when an action opens a store (here an empty directory: the command then says so).
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-lazy-'));
    try {
      expect(await packagesLoadedBy(['inbox', '--data', empty])).toContain('better-sqlite3');
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
