// `todevice conformance` as a person runs it: every rule passes against `todevice serve` and the run leaves
// nothing queued; against `--compat synapse` it exits 1 and names the known differences; what stops a run
// (closed port, a server without sliding sync, a bad accounts file, an unknown rule) is one line and exit 2.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TO_DEVICE_CASES } from '../../src/conformance/to-device-cases';
import { api, register } from '../conformance/support';
import { startTestServer, tempDir, type TestServer, runTodevice, type CliResult } from './support';



const conformance = (...args: string[]): Promise<CliResult> => runTodevice('conformance', ...args);

function expectOneLine(result: { code: number; stderr: string }, message: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
}

describe('todevice conformance', () => {
  let ts: TestServer;
  let compat: TestServer;
  beforeAll(async () => {
    [ts, compat] = await Promise.all([startTestServer(), startTestServer({ compat: 'synapse' })]);
  });
  afterAll(async () => {
    await Promise.all([ts.close(), compat.close()]);
  });

  it('passes every rule against todevice serve and leaves no test message queued', async () => {
    const dir = tempDir('conformance');
    const a = await register(ts.url, 'A');
    const b = await register(ts.url, 'B');
    const accountsFile = path.join(dir, 'accounts.json');
    fs.writeFileSync(accountsFile, JSON.stringify({ accounts: [{ user_id: a.userId, password: a.password }, { user_id: b.userId, password: b.password }] }));
    const result = await conformance('--homeserver', ts.url, '--accounts', accountsFile);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`${TO_DEVICE_CASES.length} rules: ${TO_DEVICE_CASES.length} pass, 0 fail, 0 deviation`);
    expect(result.stdout).not.toContain(b.password);
    const devices = (await api(ts.url, 'GET', '/_matrix/client/v3/devices', { token: b.accessToken })).body.devices as Array<{ device_id: string }>;
    expect(devices.length).toBeGreaterThan(TO_DEVICE_CASES.length);
    for (const device of devices) {
      expect((await ts.admin.inspectDevice(b.userId, device.device_id)).queued, device.device_id).toEqual([]);
    }
  });

  it('against --compat synapse exits 1 and names exactly the known Synapse differences', async () => {
    const result = await conformance('--homeserver', compat.url, '--json');
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as { rows: Array<{ id: string; verdict: string }>; ok: boolean };
    const notPassing = report.rows.filter((row) => row.verdict !== 'pass').map((row) => row.id).sort();
    const known = TO_DEVICE_CASES.filter((c) => c.synapseDifference !== undefined).map((c) => c.id).sort();
    expect(notPassing).toEqual(known);
    expect(report.ok).toBe(false);
  });

  it('says in one line what stops a run', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expectOneLine(await conformance('--homeserver', `http://127.0.0.1:${closedPort}`), /connection refused/);

    const notSliding = http.createServer((request, response) => {
      response.setHeader('Content-Type', 'application/json');
      if (request.url === '/_matrix/client/versions') return response.end(JSON.stringify({ versions: ['v1.11'] }));
      if (request.url === '/_matrix/client/v3/register') return response.end(JSON.stringify({ user_id: '@x:example' }));
      if (request.url === '/_matrix/client/v3/login') return response.end(JSON.stringify({ access_token: 't', device_id: 'D' }));
      response.statusCode = 404;
      response.end(JSON.stringify({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }));
    });
    await new Promise<void>((resolve) => notSliding.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(notSliding.address() as AddressInfo).port}`;
      expectOneLine(await conformance('--homeserver', url), /does not offer simplified sliding sync/);
    } finally {
      await new Promise<void>((resolve) => notSliding.close(() => resolve()));
    }

    const dir = tempDir('conformance-bad');
    const badFile = path.join(dir, 'accounts.json');
    fs.writeFileSync(badFile, '{"accounts": [');
    expectOneLine(await conformance('--homeserver', ts.url, '--accounts', badFile), /accounts file .* not valid JSON/);
    expectOneLine(await conformance('--homeserver', ts.url, '--only', 'no-such-rule'), /unknown rule no-such-rule; rules: empty-batch/);
  });
});
