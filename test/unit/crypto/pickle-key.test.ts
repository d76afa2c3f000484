// The pickle key file (src/crypto/pickle-key.ts): created once, 0600, never replaced, refused with one clear line
// when its mode is wider or its content is not a key; the key never shows itself.
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describePickleKeyError, filePickleKeySource, loadOrCreateKeyFile, PickleKey, PICKLE_KEY_FILE } from '../../../src/crypto/pickle-key';
import { tempDir } from '../store/temp-store';

function load(dir: string) {
  return loadOrCreateKeyFile(path.join(dir, PICKLE_KEY_FILE));
}

describe('pickle key', () => {
  it('pickle key: the first load creates a 0600 file holding one base64 key, later loads return the same key', async () => {
    const dir = tempDir();
    const first = await filePickleKeySource(dir).load();
    const second = await filePickleKeySource(dir).load();
    if (!first.ok || !second.ok) throw new Error('load failed');
    const file = path.join(dir, PICKLE_KEY_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(first.value.toBuffer().equals(second.value.toBuffer())).toBe(true);
    expect(first.value.toBuffer()).toHaveLength(32);
    // No temporary file is left beside it.
    expect(fs.readdirSync(dir)).toEqual([PICKLE_KEY_FILE]);
  });

  it('pickle key: an existing key file is used, never replaced', () => {
    const dir = tempDir();
    const file = path.join(dir, PICKLE_KEY_FILE);
    const known = Buffer.alloc(32, 7);
    fs.writeFileSync(file, `${known.toString('base64')}\n`, { mode: 0o600 });
    const loaded = load(dir);
    expect(loaded.ok && loaded.value.toBuffer().equals(known)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${known.toString('base64')}\n`);
  });

  it('pickle key: a file readable by others is refused with a one-line error and left as it was', () => {
    const dir = tempDir();
    const file = path.join(dir, PICKLE_KEY_FILE);
    const text = `${Buffer.alloc(32, 1).toString('base64')}\n`;
    fs.writeFileSync(file, text, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const loaded = load(dir);
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.error.kind).toBe('pickle-key-mode');
    const line = describePickleKeyError(loaded.error);
    expect(line).toBe(`pickle key ${file} has mode 0644; it must be readable by its owner only (chmod 600 ${file})`);
    expect(line).not.toContain(text.trim());
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
  });

  it('pickle key: an empty, truncated or foreign file, or a directory, is refused as malformed', () => {
    for (const content of ['', 'c2hvcnQ=\n', 'x'.repeat(44), `${Buffer.alloc(33).toString('base64')}\n`]) {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, PICKLE_KEY_FILE), content, { mode: 0o600 });
      const loaded = load(dir);
      expect(loaded.ok === false && loaded.error.kind).toBe('pickle-key-malformed');
      if (!loaded.ok) expect(describePickleKeyError(loaded.error)).toMatch(/is not a todevice pickle key .*; it was left untouched$/);
      expect(fs.readFileSync(path.join(dir, PICKLE_KEY_FILE), 'utf8')).toBe(content);
    }
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, PICKLE_KEY_FILE), { mode: 0o700 });
    const loaded = load(dir);
    expect(loaded.ok === false && loaded.error.kind).toBe('pickle-key-malformed');
  });

  it('pickle key: a missing data directory is an io error value, not a throw', () => {
    const loaded = loadOrCreateKeyFile(path.join(tempDir(), 'missing', PICKLE_KEY_FILE));
    expect(loaded.ok === false && loaded.error.kind).toBe('pickle-key-io');
  });

  it('pickle key: the key never prints, and each libolm call gets its own copy', () => {
    const key = new PickleKey(Buffer.alloc(32, 9));
    expect(String(key)).toBe('<redacted>');
    expect(JSON.stringify({ key })).toBe('{"key":"<redacted>"}');
    expect(inspect(key)).toBe('PickleKey <redacted>');
    const copy = key.forOlm();
    copy.fill(0);
    expect(key.forOlm()).toEqual(new Uint8Array(32).fill(9));
    expect(() => new PickleKey(new Uint8Array(31))).toThrow('32 bytes');
  });
});
