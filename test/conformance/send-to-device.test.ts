// Conformance: PUT /v3/sendToDevice: idempotency, "*", unknown targets, size limits and malformed bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, login, numbers, register, sendToDevice, slidingSync, startTestServer, toDeviceBody, type TestServer, type TestUser } from './support';

let ts: TestServer;
let sender: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  sender = await register(ts.url, 'SENDER');
});
afterAll(async () => {
  await ts.close();
});

async function queued(user: TestUser, deviceId = user.deviceId): Promise<unknown[]> {
  return (await ts.admin.inspectDevice(user.userId, deviceId)).queued.map((message) => message.content.n);
}

describe('sendToDevice', () => {
  it('sendToDevice: a repeated txnId returns 200 {} and queues nothing', async () => {
    const me = await register(ts.url);
    const messages = { [me.userId]: { [me.deviceId]: { n: 1 } } };
    expect(await sendToDevice(ts.url, sender, messages, 'm.test', 'same')).toEqual({ status: 200, body: {} });
    expect(await sendToDevice(ts.url, sender, messages, 'm.test', 'same')).toEqual({ status: 200, body: {} });
    expect(await queued(me)).toEqual([1]);
    const inspection = await ts.admin.inspectDevice(me.userId, me.deviceId);
    expect(inspection.accepted).toBe(1);
  });

  it('sendToDevice: the same txnId with another event type or from another device is a new message', async () => {
    const me = await register(ts.url);
    const senderPhone = await login(ts.url, sender, 'SENDER_PHONE');
    const messages = { [me.userId]: { [me.deviceId]: { n: 1 } } };
    await sendToDevice(ts.url, sender, messages, 'm.test', 'shared');
    await sendToDevice(ts.url, sender, messages, 'm.other', 'shared');
    await sendToDevice(ts.url, senderPhone, messages, 'm.test', 'shared');
    expect(await queued(me)).toEqual([1, 1, 1]);
  });

  it('sendToDevice: "*" reaches every device of the user', async () => {
    const phone = await register(ts.url, 'PHONE');
    const laptop = await login(ts.url, phone, 'LAPTOP');
    await sendToDevice(ts.url, sender, { [phone.userId]: { '*': { n: 7 } } });
    expect(await queued(phone, 'PHONE')).toEqual([7]);
    expect(await queued(laptop, 'LAPTOP')).toEqual([7]);
  });

  it('sendToDevice: unknown users and devices are dropped silently with 200', async () => {
    const me = await register(ts.url);
    const response = await sendToDevice(ts.url, sender, {
      '@nobody:localhost': { X: { n: 1 } },
      '@someone:elsewhere.example': { '*': { n: 2 } },
      [me.userId]: { NO_SUCH_DEVICE: { n: 3 }, [me.deviceId]: { n: 4 } },
    });
    expect(response).toEqual({ status: 200, body: {} });
    expect(await queued(me)).toEqual([4]);
  });

  it('sendToDevice: content over 65536 bytes gets 413 M_TOO_LARGE and queues nothing', async () => {
    const me = await register(ts.url);
    const big = { n: 1, padding: 'x'.repeat(65536) };
    const response = await sendToDevice(ts.url, sender, { [me.userId]: { [me.deviceId]: { n: 0 }, '*': big } });
    expect(response.status).toBe(413);
    expect(response.body.errcode).toBe('M_TOO_LARGE');
    expect(await queued(me)).toEqual([]);
    const fits = await sendToDevice(ts.url, sender, { [me.userId]: { [me.deviceId]: { p: 'x'.repeat(65000) } } });
    expect(fits.status).toBe(200);
  });

  it('sendToDevice: missing or malformed messages gets 400', async () => {
    const me = await register(ts.url);
    const path = '/_matrix/client/v3/sendToDevice/m.test/bad';
    for (const body of [{}, { messages: 5 }, { messages: [] }, { messages: { [me.userId]: 'x' } }, { messages: { [me.userId]: { D: [1] } } }, [1]]) {
      const response = await api(ts.url, 'PUT', path, { token: sender.accessToken, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(['M_BAD_JSON', 'M_INVALID_PARAM']).toContain(response.body.errcode);
    }
    const notJson = await api(ts.url, 'PUT', path, { token: sender.accessToken, rawBody: '{"messages":' });
    expect(notJson.body.errcode).toBe('M_NOT_JSON');
    // A rejected request must not burn its txnId: the corrected retry is accepted.
    const good = await sendToDevice(ts.url, sender, { [me.userId]: { [me.deviceId]: { n: 9 } } }, 'm.test', 'bad');
    expect(good.status).toBe(200);
    expect(await queued(me)).toEqual([9]);
  });

  it('sendToDevice: needs an access token', async () => {
    const missing = await api(ts.url, 'PUT', '/_matrix/client/v3/sendToDevice/m.test/t', { body: { messages: {} } });
    expect(missing).toMatchObject({ status: 401, body: { errcode: 'M_MISSING_TOKEN' } });
    const unknown = await api(ts.url, 'PUT', '/_matrix/client/v3/sendToDevice/m.test/t', { token: 'nope', body: { messages: {} } });
    expect(unknown).toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } });
  });

  it('sendToDevice: concurrent requests (committed together) each get their own answer: a repeated txnId queues once, a too-large one nothing', async () => {
    const me = await register(ts.url);
    const others = await Promise.all(['S1', 'S2', 'S3'].map((deviceId) => login(ts.url, sender, deviceId)));
    const to = (n: number) => ({ [me.userId]: { [me.deviceId]: { n } } });
    const responses = await Promise.all([
      sendToDevice(ts.url, others[0]!, to(1), 'm.test', 'concurrent'),
      sendToDevice(ts.url, others[0]!, to(1), 'm.test', 'concurrent'),
      sendToDevice(ts.url, others[1]!, { [me.userId]: { [me.deviceId]: { n: 2, padding: 'x'.repeat(65536) } } }, 'm.test', 'big'),
      sendToDevice(ts.url, others[2]!, to(3), 'm.test', 'concurrent'),
      sendToDevice(ts.url, others[0]!, to(1), 'm.test', 'concurrent'),
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 413, 200, 200]);
    expect((await queued(me)).sort()).toEqual([1, 3]);
    expect((await ts.admin.inspectDevice(me.userId, me.deviceId)).accepted).toBe(2);
  });

  it('sendToDevice: messages from one sender arrive in the order they were sent', async () => {
    const me = await register(ts.url);
    const messages = { [me.userId]: { [me.deviceId]: { n: 0 } } };
    for (let n = 0; n < 10; n += 1) {
      messages[me.userId] = { [me.deviceId]: { n } };
      await sendToDevice(ts.url, sender, messages);
    }
    const response = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
    expect(numbers(response.body.extensions.to_device.events)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
