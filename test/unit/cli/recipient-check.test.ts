// The recipient check of `todevice send`, over a server answering as Synapse may: an unknown user is 404
// M_NOT_FOUND on its profile, a device is known when /keys/query lists it, and a server that refuses the
// check leaves it unchecked (a note, never a refusal of plaintext).
import { describe, expect, it } from 'vitest';
import { checkRecipient, recipientNotice } from '../../../src/cli/recipient-check';
import { MatrixClient } from '../../../src/engine/matrix-client';

function server(answers: { profile: [number, unknown]; query: [number, unknown] }): MatrixClient {
  return new MatrixClient({
    baseUrl: 'http://hs.test',
    accessToken: 'tok',
    fetch: async (url) => {
      const [status, body] = url.includes('/profile/') ? answers.profile : answers.query;
      return new Response(JSON.stringify(body), { status });
    },
  });
}

const recipient = { userId: '@phone:hs.test', deviceId: 'PHONE' };
const query = (devices: string[]): [number, unknown] => [200, { device_keys: { '@phone:hs.test': Object.fromEntries(devices.map((d) => [d, {}])) }, failures: {} }];

describe('recipient check', () => {
  it('recipient: known user and device with keys says nothing, plain or encrypted', async () => {
    const check = await checkRecipient(server({ profile: [200, {}], query: query(['PHONE']) }), recipient);
    expect(check).toEqual({ kind: 'device-has-keys' });
    expect(recipientNotice(check, recipient, { encrypted: true })).toBeUndefined();
  });

  it('recipient: an unknown user is a note for plain sends and a refusal for encrypted ones', async () => {
    const check = await checkRecipient(server({ profile: [404, { errcode: 'M_NOT_FOUND', error: 'unknown user' }], query: query([]) }), recipient);
    expect(check).toEqual({ kind: 'unknown-user' });
    expect(recipientNotice(check, recipient, { encrypted: false })).toMatchObject({ refuse: false });
    expect(recipientNotice(check, recipient, { encrypted: true })).toEqual({ line: 'cannot encrypt for @phone:hs.test: the homeserver knows no such user', refuse: true });
  });

  it('recipient: a device absent from /keys/query names the devices that have keys', async () => {
    const check = await checkRecipient(server({ profile: [200, {}], query: query(['TABLET', 'LAPTOP']) }), recipient);
    expect(check).toEqual({ kind: 'device-without-keys', devicesWithKeys: ['LAPTOP', 'TABLET'] });
    expect(recipientNotice(check, recipient, { encrypted: true })?.line).toBe(
      'cannot encrypt for @phone:hs.test device PHONE: it has published no encryption keys (devices with keys: LAPTOP, TABLET)',
    );
  });

  it('recipient: a server that refuses profiles still answers by /keys/query; one that refuses both is unchecked, a note only', async () => {
    const forbidden: [number, unknown] = [403, { errcode: 'M_FORBIDDEN', error: 'no' }];
    expect(await checkRecipient(server({ profile: forbidden, query: query(['PHONE']) }), recipient)).toEqual({ kind: 'device-has-keys' });
    const check = await checkRecipient(server({ profile: forbidden, query: forbidden }), recipient);
    expect(check.kind).toBe('unchecked');
    expect(recipientNotice(check, recipient, { encrypted: false })).toMatchObject({ refuse: false, line: expect.stringMatching(/^note: could not check that @phone:hs.test device PHONE exists \(keys\/query: /) });
    expect(recipientNotice(check, recipient, { encrypted: true })?.refuse).toBe(false);
  });
});
