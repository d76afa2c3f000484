// The Olm account (src/crypto/olm-account.ts): create and pickle, a wrong pickle key or a foreign pickle as a clear
// error, and signatures over canonical JSON that another implementation verifies.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createAccount,
  OlmPickleError,
  signJson,
  unpickleAccount,
  verifyJsonSignature,
  withAccount,
} from '../../../src/crypto/olm-account';
import { loadOlm, olm } from '../../../src/crypto/olm-library';
import { PickleKey } from '../../../src/crypto/pickle-key';
import { OlmWorkingSet } from '../../../src/crypto/olm-working-set';
import { canonicalJson } from '../../../src/shared/canonical-json';
import { ourDevice } from './olm-fixture';

beforeAll(async () => {
  await loadOlm();
});

describe('olm account', () => {
  it('library: loading libolm leaves the process-wide uncaughtException and unhandledRejection listeners as they were', async () => {
    // A process of its own: libolm installs its listeners once per process, and this worker loaded it already.
    const script = [
      `const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];`,
      `const { loadOlm } = await import(${JSON.stringify(new URL('../../../src/crypto/olm-library.ts', import.meta.url).href)});`,
      `await loadOlm();`,
      `console.log(JSON.stringify({ before, after: [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')] }));`,
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({ before: [0, 0], after: [0, 0] });
  });

  it('account: a new account unpickles with its key to the same identity keys', () => {
    const key = PickleKey.generate();
    const created = createAccount(key);
    expect(created.curve25519).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(created.ed25519).toMatch(/^[A-Za-z0-9+/]{43}$/);
    const keys = withAccount(created.pickle, key, (account) => JSON.parse(account.identity_keys()) as Record<string, string>);
    expect(keys).toEqual({ curve25519: created.curve25519, ed25519: created.ed25519 });
    // The same key object serves any number of calls although libolm zeroes the buffer it is handed each time.
    expect(withAccount(created.pickle, key, () => 'again')).toBe('again');
  });

  it('account: the wrong pickle key or a foreign pickle is an OlmPickleError, not a crash', () => {
    const created = createAccount(PickleKey.generate());
    const wrong = () => unpickleAccount(created.pickle, PickleKey.generate());
    expect(wrong).toThrow(OlmPickleError);
    expect(wrong).toThrow('the Olm account in the store does not open with this pickle key');
    try {
      wrong();
    } catch (error) {
      expect((error as OlmPickleError).kind).toBe('bad-pickle-key');
      expect((error as Error).message).not.toContain(created.pickle.slice(0, 16));
    }
    // libolm checks the MAC first: a damaged pickle cannot be told from a wrong key, text that is not base64 can.
    expect(() => unpickleAccount(created.pickle.slice(0, -8), PickleKey.generate())).toThrow(expect.objectContaining({ kind: 'bad-pickle-key' }));
    expect(() => unpickleAccount('not base64 !!', PickleKey.generate())).toThrow(expect.objectContaining({ kind: 'corrupt-pickle' }));
  });

  it('account: a session pickled with another key is an OlmPickleError too (inside a decryption pass)', async () => {
    const device = await ourDevice();
    const key = PickleKey.generate();
    const session = new (olm().Session)();
    const peer = new (olm().Account)();
    peer.create();
    session.create_outbound(peer, device.identity.curve25519, device.identity.curve25519);
    device.state.saveSession({ senderKey: 'x', sessionId: session.session_id(), pickle: session.pickle(key.forOlm()), createdAtMs: 1, lastUsedAtMs: 1, messagesReceived: 0, messagesSent: 0 });
    session.free();
    peer.free();
    const working = new OlmWorkingSet(device.state, device.pickleKey);
    const [entry] = working.sessionsFor('x');
    if (entry === undefined) throw new Error('no session');
    expect(() => working.sessionObject(entry)).toThrow(expect.objectContaining({ kind: 'bad-pickle-key', message: expect.stringContaining('Olm session') }));
    working.free();
  });

  it('account: a signature covers the canonical JSON without signatures and unsigned, and verifies with libolm Utility', () => {
    const key = PickleKey.generate();
    const created = createAccount(key);
    const identity = { userId: '@u:x', deviceId: 'DEV' };
    const signed = withAccount(created.pickle, key, (account) => signJson(account, identity, { z: 1, a: { c: 'ü', b: [true, null] } }));
    const signature = signed.signatures['@u:x']?.['ed25519:DEV'] ?? '';
    const utility = new (olm().Utility)();
    expect(() => utility.ed25519_verify(created.ed25519, '{"a":{"b":[true,null],"c":"ü"},"z":1}', signature)).not.toThrow();
    utility.free();
    expect(canonicalJson({ z: 1, a: { c: 'ü', b: [true, null] } })).toBe('{"a":{"b":[true,null],"c":"ü"},"z":1}');
    expect(verifyJsonSignature({ ...signed, unsigned: { later: 1 } }, '@u:x', 'DEV', created.ed25519)).toBe(true);
    expect(verifyJsonSignature({ ...signed, z: 2 }, '@u:x', 'DEV', created.ed25519)).toBe(false);
    expect(verifyJsonSignature(signed, '@u:x', 'OTHER', created.ed25519)).toBe(false);
    expect(verifyJsonSignature({ ...signed, z: 1.5 }, '@u:x', 'DEV', created.ed25519)).toBe(false);
  });
});
