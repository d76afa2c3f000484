import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAIN_STORE_CACHE_KIB, openMainStore } from '../../../src/main/host/main-store';
import { openStore } from '../../../src/store/open-store';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

describe('main store', () => {
  it("the main process's connection keeps a smaller page cache than better-sqlite3's default, and the other options as given", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-main-store-'));
    dirs.push(dir);
    const file = path.join(dir, 'client.db');
    const usual = openStore(file);
    const usualKib = -(usual.db.pragma('cache_size', { simple: true }) as number);
    usual.close();
    const main = openMainStore(file, { create: false, synchronous: 'NORMAL' });
    expect(-(main.db.pragma('cache_size', { simple: true }) as number)).toBe(MAIN_STORE_CACHE_KIB);
    expect(MAIN_STORE_CACHE_KIB).toBeLessThan(usualKib);
    expect(main.db.pragma('synchronous', { simple: true })).toBe(1);
    main.close();
  });
});
