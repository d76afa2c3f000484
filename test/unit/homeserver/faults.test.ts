import { describe, expect, it } from 'vitest';
import { FaultRegistry } from '../../../src/homeserver/faults';

describe('fault registry', () => {
  it('faults: each fault is consumed once per request, per device', () => {
    const faults = new FaultRegistry();
    faults.add('@a:hs', 'D1', { kind: 'drop-response', count: 2 });
    expect(faults.responseFault('@a:hs', 'D2')).toBeUndefined();
    expect(faults.responseFault('@a:hs', 'D1')).toEqual({ kind: 'drop' });
    expect(faults.responseFault('@a:hs', 'D1')).toEqual({ kind: 'drop' });
    expect(faults.responseFault('@a:hs', 'D1')).toBeUndefined();
    expect(faults.list()).toEqual([]);
  });

  it('faults: an error fault throws a Matrix error with retry_after_ms', () => {
    const faults = new FaultRegistry();
    faults.add('@a:hs', 'D1', { kind: 'error', count: 1, status: 429, retry_after_ms: 50 });
    expect(() => faults.throwIfErrorFault('@a:hs', 'D1')).toThrow(expect.objectContaining({ status: 429, errcode: 'M_LIMIT_EXCEEDED' }));
    expect(() => faults.throwIfErrorFault('@a:hs', 'D1')).not.toThrow();
  });

  it('faults: drop wins over delay, and the delay is kept for the next request', () => {
    const faults = new FaultRegistry();
    faults.add('@a:hs', 'D1', { kind: 'delay', count: 1, delay_ms: 5 });
    faults.add('@a:hs', 'D1', { kind: 'drop-response', count: 1 });
    expect(faults.responseFault('@a:hs', 'D1')).toEqual({ kind: 'drop' });
    expect(faults.responseFault('@a:hs', 'D1')).toEqual({ kind: 'delay', delayMs: 5 });
  });

  it('faults: a fault with an endpoint applies to that endpoint only; one without applies to sync', () => {
    const faults = new FaultRegistry();
    faults.add('@a:hs', 'D1', { kind: 'drop-response', count: 1, endpoint: 'keys/upload' });
    faults.add('@a:hs', 'D1', { kind: 'delay', count: 1, delay_ms: 7 });
    faults.add('@a:hs', 'D1', { kind: 'error', count: 1, status: 500, endpoint: 'keys/claim' });
    expect(faults.responseFault('@a:hs', 'D1', 'keys/query')).toBeUndefined();
    expect(() => faults.throwIfErrorFault('@a:hs', 'D1')).not.toThrow();
    expect(() => faults.throwIfErrorFault('@a:hs', 'D1', 'keys/upload')).not.toThrow();
    expect(faults.responseFault('@a:hs', 'D1')).toEqual({ kind: 'delay', delayMs: 7 });
    expect(faults.responseFault('@a:hs', 'D1', 'keys/upload')).toEqual({ kind: 'drop' });
    expect(() => faults.throwIfErrorFault('@a:hs', 'D1', 'keys/claim')).toThrow(expect.objectContaining({ status: 500 }));
    expect(faults.list()).toEqual([]);
  });
});
