// `todevice send` as a person runs it: with --encrypted every tagged message reaches the device only as an Olm
// `m.room.encrypted` event that our Olm core decrypts to its tag; a device with no published keys is refused in
// one line before anything is sent; and plain sends to a user or device the server does not know say so and
// still exit 0, because the server accepted them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient } from '../../src/engine/matrix-client';
import { deliveryTag } from '../../src/shared/delivery-tag';
import { DEMO_MESSAGE_TYPE } from '../../src/shared/demo-protocol';
import { OlmReceiver } from '../support/olm-receiver';
import { tempStore } from '../unit/store/temp-store';
import { startTestServer, type TestServer, runTodevice } from './support';

const todevice = runTodevice;


let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

let users = 0;
async function receivingClient(deviceId: string): Promise<MatrixClient> {
  users += 1;
  const anonymous = new MatrixClient({ baseUrl: server.url });
  const registered = await anonymous.register({ username: `receiver${users}`, password: 'pw', deviceId });
  if (!registered.ok) throw new Error('register failed');
  return anonymous.withAccessToken(registered.value.access_token);
}

function summary(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe('todevice send --encrypted', () => {
  it('send --encrypted: five tagged messages arrive Olm-encrypted and decrypt to their tags, in order', async () => {
    const receiver = await OlmReceiver.create(await receivingClient('PHONE'), tempStore());
    const result = await todevice('send', '--homeserver', server.url, '--to', receiver.userId, '--device', 'PHONE', '--count', '5', '--encrypted');
    expect(result.code, result.stderr).toBe(0);
    const sent = summary(result.stdout);
    expect(sent).toMatchObject({ count: 5, encrypted: true, recipient: 'device-has-keys' });
    expect(result.stderr).toContain('sent 5/5 (Olm-encrypted)');

    const queued = (await server.admin.inspectDevice(receiver.userId, 'PHONE')).queued;
    expect(queued.map((event) => [event.type, event.content.algorithm])).toEqual(Array(5).fill(['m.room.encrypted', 'm.olm.v1.curve25519-aes-sha2']));
    expect(JSON.stringify(queued)).not.toContain(`${String(sent.run)}-1`);
    const rows = await receiver.receive(5);
    expect(rows.map((row) => [row.type, row.decryptionError, deliveryTag(row.type, row.content)])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [DEMO_MESSAGE_TYPE, undefined, `${String(sent.run)}-${n}`]),
    );
  });

  it('send --encrypted: a device that published no keys is refused in one line, exit 2, and nothing is sent', async () => {
    const client = await receivingClient('BARE');
    const me = await client.whoami();
    if (!me.ok) throw new Error('whoami failed');
    const result = await todevice('send', '--homeserver', server.url, '--to', me.value.userId, '--device', 'BARE', '--count', '3', '--encrypted');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `todevice: cannot encrypt for ${me.value.userId} device BARE: it has published no encryption keys (no device of that user has any)`,
    ]);
    expect(result.stdout).toBe('');
    expect((await server.admin.inspectDevice(me.value.userId, 'BARE')).queued).toEqual([]);

    const unknown = await todevice('send', '--homeserver', server.url, '--to', '@nobody:localhost', '--device', 'X', '--encrypted');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('todevice: cannot encrypt for @nobody:localhost: the homeserver knows no such user');
  });
});

describe('todevice send: the recipient check', () => {
  it('send: an unknown user or a device without keys is a note, and the command still exits 0 with what was accepted', async () => {
    const unknown = await todevice('send', '--homeserver', server.url, '--to', '@nobody:localhost', '--device', 'X', '--count', '2');
    expect(unknown.code, unknown.stderr).toBe(0);
    expect(unknown.stderr).toContain('todevice: note: the homeserver knows no user @nobody:localhost; it accepts the messages, but no device will receive them');
    expect(summary(unknown.stdout)).toMatchObject({ count: 2, encrypted: false, recipient: 'unknown-user' });

    const receiver = await OlmReceiver.create(await receivingClient('PHONE'), tempStore());
    const other = await todevice('send', '--homeserver', server.url, '--to', receiver.userId, '--device', 'TABLET', '--count', '2');
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).toContain(`todevice: note: ${receiver.userId} has no device TABLET with published keys (devices with keys: PHONE); if that device does not exist`);
    expect(summary(other.stdout)).toMatchObject({ count: 2, recipient: 'device-without-keys' });

    const known = await todevice('send', '--homeserver', server.url, '--to', receiver.userId, '--device', 'PHONE', '--count', '2');
    expect(known.code, known.stderr).toBe(0);
    expect(known.stderr).not.toContain('note:');
    expect(summary(known.stdout)).toMatchObject({ count: 2, encrypted: false, recipient: 'device-has-keys' });
    const rows = await receiver.receive(2);
    expect(rows.map((row) => row.type)).toEqual([DEMO_MESSAGE_TYPE, DEMO_MESSAGE_TYPE]);
  });
});
