// The desktop app's pickle key: sealed by the OS secret store (a stand-in sealer here, as Electron's safeStorage
// cannot run on this machine), moved from a plain key file without losing it, the plain file used where no secret
// store exists, a sealed file that does not open refused in one line; and handed to the app's processes over
// their message port, never through arguments.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parentPickleKeySource, pickleKeyMessage } from '../../../src/crypto/pickle-key-handoff';
import { describePickleKeyError, filePickleKeySource, PickleKey, PICKLE_KEY_FILE, SEALED_PICKLE_KEY_FILE } from '../../../src/crypto/pickle-key';
import { sealedPickleKeySource, type OsSecretSealer } from '../../../src/crypto/sealed-pickle-key';
import { tempDir } from '../store/temp-store';

/** Seals by XOR with a per-"user" byte and a marker, so a file sealed by another user does not open. */
function sealer(user = 0x5a, available = true): OsSecretSealer & { sealed: number } {
  const self = {
    sealed: 0,
    isAvailable: () => available,
    seal: (plaintext: string) => {
      self.sealed += 1;
      return Buffer.concat([Buffer.from('SEALED:'), Buffer.from(Buffer.from(plaintext).map((byte) => byte ^ user))]);
    },
    open: (bytes: Buffer) => {
      if (!bytes.subarray(0, 7).equals(Buffer.from('SEALED:'))) throw new Error('not sealed');
      const text = Buffer.from(bytes.subarray(7).map((byte) => byte ^ user)).toString();
      if (!/^[A-Za-z0-9+/=]+$/.test(text)) throw new Error('wrong user');
      return text;
    },
  };
  return self;
}

describe('sealed pickle key', () => {
  it('sealed key: the first start seals a new key into a 0600 file and writes no plain key; later starts open the same key', async () => {
    const dir = tempDir();
    const first = await sealedPickleKeySource(dir, sealer()).load();
    const second = await sealedPickleKeySource(dir, sealer()).load();
    if (!first.ok || !second.ok) throw new Error('load failed');
    expect(first.value.toBuffer().equals(second.value.toBuffer())).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([SEALED_PICKLE_KEY_FILE]);
    expect(fs.statSync(path.join(dir, SEALED_PICKLE_KEY_FILE)).mode & 0o777).toBe(0o600);
    // The file holds no readable key.
    expect(fs.readFileSync(path.join(dir, SEALED_PICKLE_KEY_FILE)).includes(first.value.toBuffer().toString('base64'))).toBe(false);
  });

  it('sealed key: a plain key file made by headless is sealed and then removed, and the key stays the same', async () => {
    const dir = tempDir();
    const plain = await filePickleKeySource(dir).load();
    if (!plain.ok) throw new Error('plain load failed');
    const source = sealedPickleKeySource(dir, sealer());
    const sealed = await source.load();
    if (!sealed.ok) throw new Error('sealed load failed');
    expect(sealed.value.toBuffer().equals(plain.value.toBuffer())).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([SEALED_PICKLE_KEY_FILE]);
    expect(source.note()).toContain('sealed by the OS secret store');
    // A crash after sealing, before the plain file went: both are there; the next start finishes the move.
    fs.writeFileSync(path.join(dir, PICKLE_KEY_FILE), `${plain.value.toBuffer().toString('base64')}\n`, { mode: 0o600 });
    const again = await sealedPickleKeySource(dir, sealer()).load();
    expect(again.ok && again.value.toBuffer().equals(plain.value.toBuffer())).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([SEALED_PICKLE_KEY_FILE]);
  });

  it('sealed key: with no OS secret store the plain 0600 file is used, and the note says so', async () => {
    const dir = tempDir();
    const source = sealedPickleKeySource(dir, sealer(0x5a, false));
    const loaded = await source.load();
    expect(loaded.ok).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([PICKLE_KEY_FILE]);
    expect(source.note()).toContain('the OS offers no secret store');
  });

  it('sealed key: a sealed file another user sealed is refused in one line and left as it is; headless refuses a sealed directory', async () => {
    const dir = tempDir();
    await sealedPickleKeySource(dir, sealer(0x5a)).load();
    const file = path.join(dir, SEALED_PICKLE_KEY_FILE);
    const before = fs.readFileSync(file);
    const other = await sealedPickleKeySource(dir, sealer(0x33)).load();
    expect(other.ok).toBe(false);
    if (other.ok) return;
    expect(describePickleKeyError(other.error)).toBe(
      `pickle key ${file} is not a todevice pickle key (this user's OS secret store cannot open it (another user, or a reset keychain)); it was left untouched`,
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    // The plain-file source must not make a new key beside a sealed one: it would not open the Olm state.
    const headless = await filePickleKeySource(dir).load();
    expect(headless.ok).toBe(false);
    if (!headless.ok) expect(describePickleKeyError(headless.error)).toContain('sealed by the desktop app');
    expect(fs.readdirSync(dir)).toEqual([SEALED_PICKLE_KEY_FILE]);
  });
});

describe('pickle key handoff', () => {
  it('handoff: a process started with --pickle-key parent takes the key its parent posts, even if posted before it asked', async () => {
    const port = new EventEmitter();
    const emit = (data: unknown) => port.emit('message', { data });
    const key = PickleKey.generate();
    const source = parentPickleKeySource(port as never, 5000);
    emit({ kind: 'something else' });
    emit(pickleKeyMessage(key));
    const loaded = await source.load();
    expect(loaded.ok && loaded.value.toBuffer().equals(key.toBuffer())).toBe(true);
    // The message carries the key only as base64 data for the port, and the key object never prints it.
    expect(JSON.stringify(pickleKeyMessage(key))).toContain(key.toBuffer().toString('base64'));
    expect(String(key)).toBe('<redacted>');
  });

  it('handoff: no key within the bound, or no parent port at all, is one line, not a hang', async () => {
    const late = await parentPickleKeySource(new EventEmitter() as never, 50).load();
    expect(late.ok ? 'ok' : describePickleKeyError(late.error)).toBe('pickle key from the app cannot be read or created: it did not arrive within 50 ms');
    const none = await parentPickleKeySource(undefined).load();
    expect(none.ok).toBe(false);
  });
});
