// Conformance: long polling on both sync kinds. Synapse's cases "long poll woken by a new message" and "long
// poll not woken by unrelated data", plus MSC4538's "return at once when messages are queued after since".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  numbers,
  register,
  sendNumbered,
  slidingSync,
  startTestServer,
  toDeviceBody,
  type TestServer,
  type TestUser,
} from './support';

let ts: TestServer;
let sender: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  sender = await register(ts.url, 'SENDER');
});
afterAll(async () => {
  await ts.close();
});

/** An initial request, so the next one can long poll with a pos and a since. */
async function primed(me: TestUser): Promise<{ pos: string; since: string }> {
  const first = await slidingSync(ts.url, me, { body: toDeviceBody({}) });
  return { pos: first.body.pos, since: first.body.extensions.to_device.next_batch };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * Woken, not timed out: the polls below wait up to 10 s, so an answer within half of that can only be a wake-up,
 * however loaded the machine is. (How fast a wake-up is belongs to `todevice bench`, not to a pass/fail test.)
 */
const WOKEN_WITHIN_MS = 5_000;

describe('long poll', () => {
  it('long poll: woken within milliseconds by a new message for this device', async () => {
    const me = await register(ts.url);
    const { pos, since } = await primed(me);
    const poll = slidingSync(ts.url, me, { pos, timeoutMs: 10_000, body: toDeviceBody({ since }) });
    await delay(100);
    const sentAt = Date.now();
    await sendNumbered(ts.url, sender, me, 1);
    const response = await poll;
    expect(Date.now() - sentAt).toBeLessThan(WOKEN_WITHIN_MS);
    expect(numbers(response.body.extensions.to_device.events)).toEqual([0]);
  });

  it('long poll: not woken by unrelated data (another device\'s message, a room message)', async () => {
    const me = await register(ts.url);
    const other = await register(ts.url);
    const { pos, since } = await primed(me);
    const started = Date.now();
    const poll = slidingSync(ts.url, me, { pos, timeoutMs: 700, body: toDeviceBody({ since }) });
    await delay(100);
    await sendNumbered(ts.url, sender, other, 1);
    const room = await api(ts.url, 'POST', '/_matrix/client/v3/createRoom', { token: other.accessToken, body: {} });
    await api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room.body.room_id)}/send/m.room.message/t1`, {
      token: other.accessToken,
      body: { msgtype: 'm.text', body: 'hello' },
    });
    const response = await poll;
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(response.body.extensions.to_device.events).toEqual([]);
    expect(response.body.extensions.to_device.next_batch).toBe(since);
  });

  it('long poll: returns at once when messages are already queued after since (MSC4538)', async () => {
    const me = await register(ts.url);
    const { pos, since } = await primed(me);
    await sendNumbered(ts.url, sender, me, 2);
    const started = Date.now();
    const response = await slidingSync(ts.url, me, { pos, timeoutMs: 10_000, body: toDeviceBody({ since }) });
    expect(Date.now() - started).toBeLessThan(WOKEN_WITHIN_MS);
    expect(numbers(response.body.extensions.to_device.events)).toEqual([0, 1]);
  });

  it('long poll: a request without pos returns at once (a new connection)', async () => {
    const me = await register(ts.url);
    const started = Date.now();
    const response = await slidingSync(ts.url, me, { timeoutMs: 10_000, body: toDeviceBody({}) });
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(WOKEN_WITHIN_MS);
  });

  it('long poll: times out with an empty batch and the same position', async () => {
    const me = await register(ts.url);
    const { pos, since } = await primed(me);
    const response = await slidingSync(ts.url, me, { pos, timeoutMs: 200, body: toDeviceBody({ since }) });
    expect(response.body.extensions.to_device).toEqual({ next_batch: since, events: [] });
  });

  it('long poll: a client that disconnects takes no batch, and the message waits for the next request', async () => {
    const me = await register(ts.url);
    const { pos, since } = await primed(me);
    const controller = new AbortController();
    const poll = slidingSync(ts.url, me, { pos, timeoutMs: 10_000, body: toDeviceBody({ since }), signal: controller.signal });
    await delay(100);
    controller.abort();
    await expect(poll).rejects.toThrow();
    await delay(50);
    await sendNumbered(ts.url, sender, me, 1);
    const inspection = await ts.admin.inspectDevice(me.userId, me.deviceId);
    expect(inspection.delivered).toBe(0);
    const next = await slidingSync(ts.url, me, { pos, body: toDeviceBody({ since }) });
    expect(numbers(next.body.extensions.to_device.events)).toEqual([0]);
  });

  it('long poll: classic /v3/sync is woken by a new message too', async () => {
    const me = await register(ts.url);
    const initial = await api(ts.url, 'GET', '/_matrix/client/v3/sync', { token: me.accessToken });
    const poll = api(ts.url, 'GET', `/_matrix/client/v3/sync?timeout=10000&since=${initial.body.next_batch}`, { token: me.accessToken });
    await delay(100);
    const sentAt = Date.now();
    await sendNumbered(ts.url, sender, me, 1);
    const response = await poll;
    expect(Date.now() - sentAt).toBeLessThan(WOKEN_WITHIN_MS);
    expect(numbers(response.body.to_device.events)).toEqual([0]);
  });

  it('long poll: timeout must be a non-negative integer', async () => {
    const me = await register(ts.url);
    for (const timeout of ['-1', 'abc', '1.5']) {
      const response = await api(ts.url, 'POST', `/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?timeout=${timeout}`, {
        token: me.accessToken,
        body: {},
      });
      expect(response.status).toBe(400);
      expect(response.body.errcode).toBe('M_INVALID_PARAM');
    }
  });
});
