/**
 * The browser-mode transport: only the launch's secret opens calls, snapshots and the event stream; calls answer
 * with `UiResult` values whatever the request, static files never leave their folder, and the event stream
 * pushes snapshots.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startUiHttpBridge, type UiHttpBridge } from '../../../src/main/host/ui-http-bridge';
import type { DashboardSnapshot } from '../../../src/shared/ui-api';
import { createFakeUiBackend, type FakeUiBackend } from '../../support/fake-ui-backend';

let root: string;
let staticDir: string;
let backend: FakeUiBackend;
let bridge: UiHttpBridge;
let logLines: string[];
const secret = 'test-secret-0123456789abcdef';

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-bridge-'));
  staticDir = path.join(root, 'renderer');
  fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>dash</title>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'outside the static folder');
  fs.symlinkSync(path.join(root, 'secret.txt'), path.join(staticDir, 'link.txt'));
  backend = createFakeUiBackend({ tickMs: 0 });
  logLines = [];
  bridge = await startUiHttpBridge({ backend, staticDir, host: '127.0.0.1', port: 0, secret, log: (line) => logLines.push(line) });
});

afterEach(async () => {
  backend.close();
  await bridge.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A raw request, so that paths like `/../x` reach the server unnormalised. */
function request(method: string, urlPath: string, body?: string, headers: Record<string, string> = {}) {
  const url = new URL(bridge.url);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: urlPath, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = { authorization: `Bearer ${secret}` };
const json = { 'content-type': 'application/json', ...auth };

describe('ui http bridge: the launch secret', () => {
  it('answers calls, snapshot:get and the event stream without the secret with 401 and a one-line JSON error, and runs nothing', async () => {
    const kill = vi.fn(backend['process:kill-notifier']);
    backend['process:kill-notifier'] = kill;
    const attempts: Array<Record<string, string>> = [
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json', authorization: 'Bearer wrong-secret-0123456789' },
      { 'content-type': 'application/json', authorization: secret },
      { 'content-type': 'application/json', authorization: `Bearer ${secret}x` },
      { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`x:${secret}`).toString('base64')}` },
    ];
    for (const headers of attempts) {
      for (const [method, urlPath] of [['POST', '/api/call/process:kill-notifier'], ['POST', '/api/call/snapshot:get'], ['GET', '/api/events']] as const) {
        const response = await request(method, urlPath, method === 'POST' ? '{}' : undefined, headers);
        expect(response.status, `${method} ${urlPath} with ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(response.body.split('\n')).toHaveLength(1);
        expect(JSON.parse(response.body)).toMatchObject({ ok: false, error: { kind: 'unauthorized' } });
        expect(response.body).not.toContain('counters');
      }
    }
    expect(kill).not.toHaveBeenCalled();
    expect((await request('POST', '/api/call/process:kill-notifier', '{}', json)).status).toBe(200);
    expect(kill).toHaveBeenCalledOnce();
  });

  it('serves the static dashboard without the secret', async () => {
    expect((await request('GET', '/')).status).toBe(200);
    expect((await request('GET', '/assets/app.js')).status).toBe(200);
  });

  it('launchUrl carries the secret in its fragment only; url and the log never hold it', async () => {
    const launch = new URL(bridge.launchUrl);
    expect(`${launch.protocol}//${launch.host}`).toBe(bridge.url);
    expect(launch.pathname).toBe('/');
    expect(launch.search).toBe('');
    expect(new URLSearchParams(launch.hash.slice(1)).get('token')).toBe(secret);
    expect(bridge.url).not.toContain(secret);
    // The bridge logs when an event stream's first snapshot fails; that line must not hold the secret either.
    backend['snapshot:get'] = () => Promise.reject(new Error('boom'));
    const url = new URL(bridge.url);
    const stream = http.get({ host: url.hostname, port: url.port, path: '/api/events', headers: auth }, (res) => res.resume());
    await expect.poll(() => logLines.length).toBeGreaterThan(0);
    stream.destroy();
    for (const line of logLines) expect(line).not.toContain(secret);
  });

  it('makes a fresh secret per launch when none is given', async () => {
    const other = await startUiHttpBridge({ backend, staticDir, host: '127.0.0.1', port: 0 });
    const third = await startUiHttpBridge({ backend, staticDir, host: '127.0.0.1', port: 0 });
    try {
      const tokenOf = (b: UiHttpBridge): string => new URLSearchParams(new URL(b.launchUrl).hash.slice(1)).get('token') ?? '';
      expect(tokenOf(other).length).toBeGreaterThanOrEqual(32);
      expect(tokenOf(other)).not.toBe(tokenOf(third));
    } finally {
      await other.close();
      await third.close();
    }
  });
});

describe('ui http bridge: calls', () => {
  it('forwards a known channel and returns its UiResult', async () => {
    const response = await request('POST', '/api/call/traffic:send-to-device', JSON.stringify({ count: 3 }), json);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ok: true, value: { sent: 3 } });
  });

  it('answers an unknown channel with a 400 UiResult error', async () => {
    const response = await request('POST', '/api/call/process:format-disk', '{}', json);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ ok: false, error: { kind: 'unknown-channel' } });
  });

  it('answers bad JSON and non-object arguments with a 400 UiResult error, and keeps serving', async () => {
    for (const body of ['{not json', '[1,2]', '42', 'null']) {
      const response = await request('POST', '/api/call/traffic:send-to-device', body, json);
      expect(response.status).toBe(400);
      expect(JSON.parse(response.body)).toMatchObject({ ok: false, error: { kind: 'bad-json' } });
    }
    const after = await request('POST', '/api/call/snapshot:get', '', json);
    expect(JSON.parse(after.body)).toMatchObject({ ok: true });
  });

  it('refuses cross-site calls: wrong content type, foreign origin, foreign host', async () => {
    const plain = await request('POST', '/api/call/snapshot:get', '{}', { 'content-type': 'text/plain', ...auth });
    expect(plain.status).toBe(403);
    const foreign = await request('POST', '/api/call/snapshot:get', '{}', { ...json, origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    const rebound = await request('GET', '/', undefined, { host: 'evil.example' });
    expect(rebound.status).toBe(403);
  });

  it('turns a throwing backend into a UiResult error', async () => {
    backend['process:kill-notifier'] = () => Promise.reject(new Error('boom'));
    const response = await request('POST', '/api/call/process:kill-notifier', '{}', json);
    expect(JSON.parse(response.body)).toEqual({ ok: false, error: { kind: 'internal', message: 'process:kill-notifier failed: boom' } });
  });
});

describe('ui http bridge: static files', () => {
  it('serves index.html at / with its content type and the CSP header', async () => {
    const response = await request('GET', '/');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const script = await request('GET', '/assets/app.js');
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it('never serves a file outside its folder, however the path is spelled', async () => {
    for (const attempt of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/link.txt', '/%00index.html']) {
      const response = await request('GET', attempt);
      expect(response.status, attempt).toBe(404);
      expect(response.body).not.toContain('outside');
    }
  });
});

describe('ui http bridge: events', () => {
  it('pushes the current snapshot at once, then each published one', async () => {
    const url = new URL(bridge.url);
    const snapshots: DashboardSnapshot[] = [];
    let buffer = '';
    const req = http.get({ host: url.hostname, port: url.port, path: '/api/events', headers: auth }, (res) => {
      expect(res.headers['content-type']).toContain('text/event-stream');
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^event: snapshot:changed\ndata: (.*)$/s.exec(frame)?.[1];
          if (data) snapshots.push(JSON.parse(data) as DashboardSnapshot);
        }
      });
    });
    await expect.poll(() => snapshots.length).toBe(1);
    await backend['traffic:send-to-device']({ count: 5 });
    await expect.poll(() => snapshots.at(-1)?.counters.sent).toBe(5);
    req.destroy();
  });

  it('closes open event streams on close()', async () => {
    const url = new URL(bridge.url);
    let streaming: () => void = () => undefined;
    const open = new Promise<void>((resolve) => (streaming = resolve));
    const ended = new Promise<void>((resolve) => {
      http.get({ host: url.hostname, port: url.port, path: '/api/events', headers: auth }, (res) => {
        streaming();
        res.resume();
        res.on('end', resolve);
        res.on('close', resolve);
      });
    });
    // The stream is open once its headers arrived; only then is there something for close() to end.
    await open;
    await bridge.close();
    await ended;
    bridge = { url: bridge.url, launchUrl: bridge.launchUrl, close: async () => {} };
  });
});
