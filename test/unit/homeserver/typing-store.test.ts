import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TypingStore } from '../../../src/homeserver/typing-store';

describe('typing store', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('typing: starting and stopping are changes after a position; extending a timeout is not', () => {
    const changed: string[] = [];
    const typing = new TypingStore((roomId) => changed.push(roomId));
    const start = typing.position();
    typing.set('!r:hs', '@a:hs', true, 30_000);
    expect(typing.typingEvent('!r:hs', start)).toEqual({ type: 'm.typing', content: { user_ids: ['@a:hs'] } });
    const afterStart = typing.position();
    typing.set('!r:hs', '@a:hs', true, 30_000);
    expect(typing.position()).toBe(afterStart);
    expect(typing.typingEvent('!r:hs', afterStart)).toBeUndefined();
    typing.set('!r:hs', '@a:hs', false, 0);
    expect(typing.typingEvent('!r:hs', afterStart)).toEqual({ type: 'm.typing', content: { user_ids: [] } });
    expect(changed).toEqual(['!r:hs', '!r:hs']);
    typing.close();
  });

  it('typing: a typist expires after the timeout, capped at two minutes, and that wakes the room', () => {
    const changed: string[] = [];
    const typing = new TypingStore((roomId) => changed.push(roomId));
    typing.set('!r:hs', '@a:hs', true, 10 * 60_000);
    const typingAt = typing.position();
    vi.advanceTimersByTime(119_000);
    expect(typing.typingEvent('!r:hs', typingAt)).toBeUndefined();
    vi.advanceTimersByTime(1_000);
    expect(typing.typingEvent('!r:hs', typingAt)).toEqual({ type: 'm.typing', content: { user_ids: [] } });
    expect(changed).toHaveLength(2);
    typing.close();
  });

  it('typing: close clears every expiry timer', () => {
    const typing = new TypingStore(() => {});
    typing.set('!r:hs', '@a:hs', true, 30_000);
    typing.set('!s:hs', '@b:hs', true, 30_000);
    expect(vi.getTimerCount()).toBe(2);
    typing.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
