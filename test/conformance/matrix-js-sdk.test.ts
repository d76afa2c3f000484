// Conformance: `todevice serve` answers a real Matrix client. matrix-js-sdk (Element's own client library)
// registers, logs in, sends a to-device message, creates a room, sends into it and fetches the event back; the
// recipient receives the to-device message through the MSC3885 extension exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, MsgType, type MatrixClient, type RegisterRequest } from 'matrix-js-sdk';
import { numbers, slidingSync, startTestServer, toDeviceBody, type TestServer } from './support';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(() => ts.close());

async function registeredClient(username: string, deviceId: string): Promise<{ client: MatrixClient; userId: string; accessToken: string }> {
  const anonymous = createClient({ baseUrl: ts.url });
  // The spec's `device_id` is missing from the SDK's RegisterRequest type, though the SDK sends what it is given.
  const request = { username, password: 'correct horse', device_id: deviceId, auth: { type: 'm.login.dummy' } };
  const registered = await anonymous.registerRequest(request as RegisterRequest);
  const accessToken = registered.access_token ?? '';
  const client = createClient({ baseUrl: ts.url, accessToken, userId: registered.user_id, deviceId });
  return { client, userId: registered.user_id, accessToken };
}

describe('matrix-js-sdk against todevice serve', () => {
  it('matrix-js-sdk: versions advertise the to-device MSCs', async () => {
    const client = createClient({ baseUrl: ts.url });
    expect(await client.doesServerSupportUnstableFeature('org.matrix.msc3885')).toBe(true);
    expect(await client.doesServerSupportUnstableFeature('org.matrix.msc4538')).toBe(true);
    expect(await client.doesServerSupportUnstableFeature('org.matrix.simplified_msc3575')).toBe(true);
  });

  it('matrix-js-sdk: register, login, whoami, devices', async () => {
    const { client, userId } = await registeredClient('sdkalice', 'SDKDEV');
    expect((await client.whoami()).user_id).toBe(userId);
    const login = await createClient({ baseUrl: ts.url }).loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'sdkalice' },
      password: 'correct horse',
      device_id: 'SDKDEV',
    });
    expect(login).toMatchObject({ user_id: userId, device_id: 'SDKDEV' });
    expect((await client.getDevices()).devices.map((d) => d.device_id)).toContain('SDKDEV');
  });

  it('matrix-js-sdk: a to-device message it sends is delivered once through the extension', async () => {
    const sender = await registeredClient('sdksender', 'SENDER');
    const recipient = await registeredClient('sdkrecipient', 'PHONE');
    await sender.client.sendToDevice('org.example.test', new Map([[recipient.userId, new Map([['PHONE', { n: 7 }]])]]));
    const me = { userId: recipient.userId, deviceId: 'PHONE', accessToken: recipient.accessToken, password: '' };
    const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(numbers(first.body.extensions.to_device.events)).toEqual([7]);
    const since = first.body.extensions.to_device.next_batch;
    const second = await slidingSync(ts.url, me, { pos: first.body.pos, body: toDeviceBody({ since }) });
    expect(numbers(second.body.extensions.to_device.events)).toEqual([]);
  });

  it('matrix-js-sdk: create a room, send a message, fetch the event', async () => {
    const { client, userId } = await registeredClient('sdkroomer', 'ROOMDEV');
    const { room_id: roomId } = await client.createRoom({ name: 'sdk room' });
    const { event_id: eventId } = await client.sendMessage(roomId, { msgtype: MsgType.Text, body: 'hello from the sdk' });
    const event = await client.fetchRoomEvent(roomId, eventId);
    expect(event).toMatchObject({ event_id: eventId, sender: userId, content: { body: 'hello from the sdk' } });
  });
});
