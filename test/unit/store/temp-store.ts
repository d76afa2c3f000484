// Test helper: a store in a fresh temporary directory, removed after the test file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { openStore, type ClientStore, type OpenStoreOptions } from '../../../src/store/open-store';

const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-store-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function tempStore(options?: OpenStoreOptions): ClientStore {
  const store = openStore(path.join(tempDir(), 'client.sqlite'), options);
  cleanups.unshift(() => store.close());
  return store;
}

/** A second connection to the same file, as another process would have. */
export function reopen(store: ClientStore): ClientStore {
  const other = openStore(store.path);
  cleanups.unshift(() => other.close());
  return other;
}
