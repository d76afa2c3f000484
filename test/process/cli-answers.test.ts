// The answers a person relies on, from the shipped command: a data directory never changes hands, a file that is
// not a healthy store is refused in one line and left as it was, inspection writes nothing, the exactly-once
// summary covers the whole inbox, errors read as sentences, and a closed pipe ends a command quietly.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_DB_FILE } from '../../src/shared/data-layout';
import { consume } from '../../src/store/consume';
import { recordHandled } from '../../src/store/handled';
import { appendToInbox } from '../../src/store/inbox';
import { openStore } from '../../src/store/open-store';
import { RECEIVER, startCommand, startHeadless, startTestServer, tempDir, waitFor, type RunningProcess, type TestServer, runTodevice, type CliResult } from './support';

const cli = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));
const todevice = runTodevice;



function headlessArgs(url: string, dataDir: string, extra: string[] = []): string[] {
  return ['headless', '--homeserver', url, '--data', dataDir, '--user', RECEIVER.user, '--password', RECEIVER.password, ...extra];
}

/** One line on stderr, exit code 2, no stack trace. */
function expectOneLineRefusal(result: CliResult, message: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function stopped(main: RunningProcess): Promise<void> {
  main.child.kill('SIGTERM');
  await main.exited;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('a data directory belongs to one account', () => {
  it('ownership: another user, another device or another homeserver is refused in one line that names the owner', async () => {
    const dataDir = tempDir('owned');
    await stopped(await startHeadless(server.url, dataDir));
    const before = sha256(path.join(dataDir, CLIENT_DB_FILE));
    const other = await startTestServer();
    try {
      const cases: Array<[string[], RegExp]> = [
        [['headless', '--homeserver', server.url, '--data', dataDir, '--user', 'someone-else', '--password', 'pw', '--register'], /belongs to @phone:localhost \(device PHONE\).*not someone-else/],
        [headlessArgs(server.url, dataDir, ['--device', 'TABLET']), /not device TABLET; .*pass PHONE/],
        [headlessArgs(other.url, dataDir, ['--register']), /not to http:\/\/127\.0\.0\.1:\d+; if that server now answers at the new address, pass --homeserver-moved/],
      ];
      for (const [args, message] of cases) expectOneLineRefusal(await todevice(...args), message);
    } finally {
      await other.close();
    }
    expect(sha256(path.join(dataDir, CLIENT_DB_FILE))).toBe(before);
  });

  it('ownership: the same server spelled localhost instead of 127.0.0.1 is the same server', async () => {
    const dataDir = tempDir('spelling');
    await stopped(await startHeadless(server.url, dataDir));
    const spelled = server.url.replace('127.0.0.1', 'localhost');
    const main = await startCommand(headlessArgs(spelled, dataDir));
    expect(main.lines[0]).toMatchObject({ user_id: '@phone:localhost', device_id: RECEIVER.deviceId });
    await stopped(main);
  });

  it('ownership: a homeserver that moved to a new address is accepted with --homeserver-moved, after it confirms the account', async () => {
    const dataDir = tempDir('moved');
    await stopped(await startHeadless(server.url, dataDir));
    const proxy = await startTcpProxy(new URL(server.url).port);
    try {
      expectOneLineRefusal(await todevice(...headlessArgs(proxy.url, dataDir)), /pass --homeserver-moved/);
      const main = await startCommand(headlessArgs(proxy.url, dataDir, ['--homeserver-moved']));
      expect(main.lines[0]).toMatchObject({ user_id: '@phone:localhost', device_id: RECEIVER.deviceId });
      await stopped(main);
      const inbox = JSON.parse((await todevice('inbox', '--data', dataDir, '--json')).stdout) as { account: { homeserver_url: string } };
      expect(inbox.account.homeserver_url).toBe(proxy.url);
    } finally {
      await proxy.close();
    }
  });

  it('first start: a login that fails (closed port, bad URL) creates nothing in --data', async () => {
    const parent = tempDir('nothing');
    const dataDir = path.join(parent, 'phone');
    const closed = await todevice(...headlessArgs('http://127.0.0.1:9', dataDir, ['--register']));
    expectOneLineRefusal(closed, /cannot reach http:\/\/127\.0\.0\.1:9: connection refused \(is a homeserver running on that port\?\)/);
    expectOneLineRefusal(await todevice(...headlessArgs('not a url', dataDir)), /invalid homeserver URL "not a url"/);
    expect(fs.readdirSync(parent)).toEqual([]);
  });
});

describe('files that are not a healthy store', () => {
  it('files: truncated, empty, non-SQLite and foreign files get one line from inbox and headless, and stay byte-for-byte', async () => {
    const healthy = tempDir('healthy');
    await stopped(await startHeadless(server.url, healthy));
    const makers: Record<string, (file: string) => void> = {
      truncated: (file) => {
        fillStore(file, 2000);
        fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
      },
      empty: (file) => fs.writeFileSync(file, ''),
      'not SQLite': (file) => fs.writeFileSync(file, 'a shopping list\n'.repeat(40)),
      foreign: (file) => {
        const other = new Database(file);
        other.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')");
        other.close();
      },
    };
    const expected: Record<string, RegExp> = {
      truncated: /damaged/,
      empty: /empty file, not a todevice store/,
      'not SQLite': /not a todevice database \(the file is not an SQLite database\)/,
      foreign: /not a todevice database \(an SQLite database with application_id 0/,
    };
    for (const [name, make] of Object.entries(makers)) {
      const dataDir = tempDir('bad-file');
      const file = path.join(dataDir, CLIENT_DB_FILE);
      make(file);
      const before = sha256(file);
      expectOneLineRefusal(await todevice('inbox', '--data', dataDir), expected[name] ?? /./);
      expectOneLineRefusal(await todevice(...headlessArgs(server.url, dataDir)), expected[name] ?? /./);
      expect(sha256(file), name).toBe(before);
      expect(fs.readdirSync(dataDir).filter((entry) => entry !== CLIENT_DB_FILE), name).toEqual([]);
    }
  }, 180_000); // ten command runs, each a fresh Node process: minutes on a loaded machine

  it('inspection: inbox on a missing store creates nothing', async () => {
    const dataDir = tempDir('missing');
    expectOneLineRefusal(await todevice('inbox', '--data', dataDir), /no todevice store at/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});

describe('answers that can be trusted', () => {
  it('inbox: the exactly-once summary covers every message whatever --limit prints, and says when rows were left out', async () => {
    const dataDir = tempDir('summary');
    fillStore(path.join(dataDir, CLIENT_DB_FILE), 1000, { duplicateEvery: 100, handledBy: 'main' });
    const text = await todevice('inbox', '--data', dataDir, '--limit', '3');
    expect(text.stdout).toContain('handled   main: 1010 rows, 1000 distinct tags, 10 duplicated');
    expect(text.stdout).toMatch(/inbox {5}1010 rows .*showing the newest 3 \(--limit\)/);
    expect(text.stdout.split('\n').filter((line) => /^\s+\d+\s+org\.example/.test(line))).toHaveLength(3);
    const json = JSON.parse((await todevice('inbox', '--data', dataDir, '--limit', '3', '--json')).stdout) as { inbox: unknown[] } & Record<string, unknown>;
    expect(json).toMatchObject({ inbox_count: 1010, handled: [{ consumer: 'main', rows: 1010, distinct_tags: 1000, duplicates: 10 }] });
    expect(json.inbox).toHaveLength(3);
  });

  it('errors: after the homeserver was reset, headless says the server no longer knows the store instead of printing JSON', async () => {
    const reset = await startTestServer();
    const port = Number(new URL(reset.url).port);
    const dataDir = tempDir('reset');
    const main = await startHeadless(reset.url, dataDir);
    await waitFor(() => tokenIsSet(dataDir), 20_000, () => 'the first sync did not commit a token');
    await stopped(main);
    await reset.close();
    const fresh = await startTestServer({ port });
    try {
      const result = await todevice(...headlessArgs(fresh.url, dataDir, ['--device', RECEIVER.deviceId, '--register']));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/the sync loop stopped: the homeserver refused this store's to-device token \(M_INVALID_PARAM/);
      expect(result.stderr).toMatch(/if the homeserver was reset .* start again with a new --data directory/);
      expect(result.stderr).not.toMatch(/\{"kind"/);
    } finally {
      await fresh.close();
    }
  });

  it('errors: send to a closed port says so in one sentence', async () => {
    const result = await todevice('send', '--homeserver', 'http://127.0.0.1:9', '--to', '@phone:localhost', '--device', 'PHONE');
    expectOneLineRefusal(result, /cannot register a sender: cannot reach http:\/\/127\.0\.0\.1:9: connection refused/);
  });

  it('output: a reader that closes the pipe early ends the command quietly, with exit code 0', () => {
    const dataDir = tempDir('pipe');
    fillStore(path.join(dataDir, CLIENT_DB_FILE), 3000);
    for (const command of [`inbox --data ${dataDir}`, 'help race']) {
      const result = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${cli}" ${command} | head -1`], { encoding: 'utf8' });
      expect(result.stderr, command).toBe('');
      expect(result.status, command).toBe(0);
      expect(result.stdout.split('\n').filter(Boolean), command).toHaveLength(1);
    }
  });

  it('help: --version prints the package version, and usage errors are one line', async () => {
    const version = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await todevice('--version')).stdout.trim()).toBe(version.version);
    expectOneLineRefusal(await todevice('inbox'), /required option '--data <dir>' not specified; see todevice inbox --help/);
    expectOneLineRefusal(await todevice('race', '--bogus'), /unknown option '--bogus'; see todevice race --help/);
    const help = (await todevice('race', '--help')).stdout;
    expect(help).not.toMatch(/default: \[\]/);
    expect(help).not.toMatch(/kills \(default: 0\)/);
  });
});

/**
 * A store with `count` tagged rows (every `duplicateEvery`-th also twice), written the way a commit writes them,
 * and handled by `handledBy` when given.
 */
function fillStore(file: string, count: number, options: { duplicateEvery?: number; handledBy?: string } = {}): void {
  const store = openStore(file);
  try {
    const events: Array<{ type: string; sender: string; content: Record<string, unknown> }> = [];
    for (let n = 1; n <= count; n += 1) {
      const event = { type: 'org.example.tagged', sender: '@sender:localhost', content: { tag: `s0-${n}`, filler: 'x'.repeat(200) } };
      events.push(event);
      if (options.duplicateEvery !== undefined && n % options.duplicateEvery === 0) events.push(event);
    }
    store.immediate(() => appendToInbox(store, events, { receivedAtMs: 1, process: 'main', pid: 1, batchSince: null, batchNextBatch: 't1' }));
    const consumer = options.handledBy;
    if (consumer !== undefined) consume(store, consumer, (row, db) => recordHandled(db, consumer, row, 2), { maxRows: events.length });
    store.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    store.close();
  }
}

function tokenIsSet(dataDir: string): boolean {
  const file = path.join(dataDir, CLIENT_DB_FILE);
  if (!fs.existsSync(file)) return false;
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT since FROM to_device_token WHERE id = 1').get() as { since: string | null }).since !== null;
  } finally {
    db.close();
  }
}

/** A TCP proxy on a new port to a local server: the same homeserver at a new address. */
async function startTcpProxy(targetPort: string): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(targetPort), '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}
