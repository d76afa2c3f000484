// Test helper: the reference homeserver on port 0 with a receiving device and a sending user.
import { afterEach } from 'vitest';
import { AdminClient } from '../../../src/homeserver/admin-client';
import { startHomeserver } from '../../../src/homeserver/homeserver';
import { MatrixClient } from '../../../src/engine/matrix-client';

export interface Fixture {
  url: string;
  admin: AdminClient;
  /** The receiving device, shared by every client process of a test. */
  receiver: { client: MatrixClient; userId: string; deviceId: string };
  sender: { client: MatrixClient; userId: string };
  /** Sends `count` to-device messages numbered from `first`, one request each (keeps per-sender order). */
  send(first: number, count: number): Promise<void>;
}

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

let counter = 0;

export async function startFixture(): Promise<Fixture> {
  const server = await startHomeserver({ dbPath: ':memory:', port: 0, log: () => undefined });
  closers.push(() => server.close());
  const anonymous = new MatrixClient({ baseUrl: server.url });
  counter += 1;
  const receiverLogin = await anonymous.register({ username: `rcv${counter}`, password: 'pw', deviceId: 'PHONE' });
  const senderLogin = await anonymous.register({ username: `snd${counter}`, password: 'pw', deviceId: 'SENDER' });
  if (!receiverLogin.ok || !senderLogin.ok) throw new Error('registration failed');
  const receiver = {
    client: anonymous.withAccessToken(receiverLogin.value.access_token),
    userId: receiverLogin.value.user_id,
    deviceId: receiverLogin.value.device_id,
  };
  const sender = { client: anonymous.withAccessToken(senderLogin.value.access_token), userId: senderLogin.value.user_id };
  let txn = 0;
  return {
    url: server.url,
    admin: new AdminClient(server.url, server.adminToken),
    receiver,
    sender,
    async send(first, count) {
      for (let n = first; n < first + count; n += 1) {
        txn += 1;
        const sent = await sender.client.sendToDevice('m.test', `t${txn}`, { [receiver.userId]: { [receiver.deviceId]: { n } } });
        if (!sent.ok) throw new Error(`sendToDevice failed: ${JSON.stringify(sent.error)}`);
      }
    },
  };
}
