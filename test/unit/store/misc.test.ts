import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { readAccount, saveAccount } from '../../../src/store/account';
import { appendProcessEvent, listProcessEvents } from '../../../src/store/event-log';
import { commitLegacyBatch, listLegacyTokens, readLegacyToken } from '../../../src/store/legacy-token';
import { readStoreSnapshot } from '../../../src/store/snapshot';
import { classifySqliteError } from '../../../src/store/sqlite-errors';
import { reopen, tempStore } from './temp-store';

const clock = { nowMs: () => 7 };

describe('store odds and ends', () => {
  it('account: saved credentials are read back by another connection', () => {
    const store = tempStore();
    const account = { homeserverUrl: 'http://127.0.0.1:1', userId: '@a:hs', deviceId: 'D', accessToken: 'secret' };
    expect(readAccount(store)).toBeUndefined();
    saveAccount(store, account, clock);
    expect(readAccount(reopen(store))).toEqual(account);
  });

  it('event log: keeps only the newest maxRows rows', () => {
    const store = tempStore();
    for (let i = 0; i < 12; i += 1) {
      appendProcessEvent(store, { atMs: i, process: 'main', pid: 1, kind: 'request', detail: { i } }, 5);
    }
    const events = listProcessEvents(store);
    expect(events.map((event) => event.detail.i)).toEqual([7, 8, 9, 10, 11]);
    expect(listProcessEvents(store, { afterId: events[3]?.id })).toHaveLength(1);
  });

  it('legacy: each process keeps its own classic token and tags its rows', () => {
    const store = tempStore();
    const events = [{ type: 'm.test', sender: '@a:hs', content: {} }];
    commitLegacyBatch(store, { process: 'main', pid: 1, since: null, nextBatch: 's1', events, nowMs: 1 });
    commitLegacyBatch(store, { process: 'notifier', pid: 2, since: null, nextBatch: 's2', events: [], nowMs: 1 });
    expect(readLegacyToken(store, 'main')).toBe('s1');
    expect(readLegacyToken(store, 'notifier')).toBe('s2');
    expect(readLegacyToken(store, 'other')).toBeNull();
    expect(listLegacyTokens(store)).toHaveLength(2);
  });

  it('snapshot: shows token, cursors and inbox but never the access token', () => {
    const store = tempStore();
    saveAccount(store, { homeserverUrl: 'u', userId: '@a:hs', deviceId: 'D', accessToken: 'secret' }, clock);
    const snapshot = readStoreSnapshot(store);
    expect(snapshot.token.since).toBeNull();
    expect(JSON.stringify(snapshot)).not.toContain('secret');
  });

  it('sqlite errors: a busy database is classified as db-busy', () => {
    const store = tempStore();
    const blocker = new Database(store.path, { timeout: 0 });
    store.db.prepare('BEGIN IMMEDIATE').run();
    let thrown: unknown;
    try {
      blocker.prepare('BEGIN IMMEDIATE').run();
    } catch (error) {
      thrown = error;
    }
    store.db.prepare('ROLLBACK').run();
    blocker.close();
    expect(classifySqliteError(thrown)?.kind).toBe('db-busy');
    expect(classifySqliteError(new Error('plain'))).toBeUndefined();
  });
});
