import { describe, expect, it } from 'vitest';
import { Router, type Route } from '../../../src/homeserver/router';

const route = (method: Route['method'], pattern: string): Route => ({ method, pattern, handle: () => ({ status: 200, body: {} }) });

describe('router', () => {
  const router = new Router();
  router.add([route('PUT', '/v3/rooms/:roomId/send/:type/:txn'), route('GET', '/v3/sync')]);

  it('router: decodes parameters', () => {
    const match = router.match('PUT', '/v3/rooms/!a%3Ahs/send/m.room.message/t%2F1');
    expect(match).toMatchObject({ kind: 'found', params: { roomId: '!a:hs', type: 'm.room.message', txn: 't/1' } });
  });

  it('router: wrong method, unknown path, empty or malformed parameter', () => {
    expect(router.match('POST', '/v3/sync').kind).toBe('method-not-allowed');
    expect(router.match('GET', '/v3/other').kind).toBe('not-found');
    expect(router.match('PUT', '/v3/rooms//send/x/y').kind).toBe('not-found');
    expect(router.match('PUT', '/v3/rooms/%E0%A4%A/send/x/y').kind).toBe('not-found');
    expect(router.match('GET', '/v3/sync/').kind).toBe('not-found');
  });
});
