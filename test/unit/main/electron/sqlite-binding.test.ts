/**
 * The Electron main process's last check before it opens the store: a better-sqlite3 binary that is missing or
 * does not load is one line that names it and says how to get one that does. Runs under Node, with Electron's
 * versions passed in, since the check itself is plain better-sqlite3.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkSqliteForElectron } from '../../../../src/main/electron/sqlite-binding';

const ELECTRON_VERSIONS = { ...process.versions, electron: '41.7.1', modules: '145' };
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-sqlite-binding-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the better-sqlite3 check in the Electron main process', () => {
  it('sqlite binding: a variable that names no file is one line naming it and how to get a build', () => {
    const missing = path.join(dir, 'better_sqlite3.node');

    const result = checkSqliteForElectron({ TODEVICE_SQLITE_ELECTRON_BINDING: missing }, ELECTRON_VERSIONS);

    expect(result).toEqual({
      ok: false,
      error:
        `TODEVICE_SQLITE_ELECTRON_BINDING=${missing} does not exist: point it at a better_sqlite3.node built for ` +
        'Electron 41.7.1 (ABI 145), or unset it and start the app with "npm start" (todevice start), which builds ' +
        'one on the first start and caches it',
    });
  });

  it('sqlite binding: a binary that does not load is one line with the loader\'s reason and what to do', () => {
    const broken = path.join(dir, 'better_sqlite3.node');
    fs.writeFileSync(broken, 'not a shared object');

    const result = checkSqliteForElectron({ TODEVICE_SQLITE_ELECTRON_BINDING: broken }, ELECTRON_VERSIONS);

    expect(result.ok).toBe(false);
    const message = result.ok ? '' : result.error;
    expect(message).not.toContain('\n');
    expect(message).toMatch(
      new RegExp(`^TODEVICE_SQLITE_ELECTRON_BINDING=${broken.replace(/[.\\/]/g, '\\$&')} does not load in Electron 41\\.7\\.1 \\(ABI 145\\): `),
    );
    expect(message).toContain('start the app with "npm start" (todevice start), which builds one on the first start');
  });

  it('sqlite binding: a binary that loads is used', () => {
    const result = checkSqliteForElectron({}, process.versions);

    expect(result).toEqual({ ok: true, value: undefined });
  });
});
