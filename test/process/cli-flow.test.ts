// The commands a person outside the project would use: `todevice serve`, `headless`, `send`, `inbox`. Kill the
// main process while messages arrive, restart it, and `inbox` shows every tag handled exactly once.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedRowCount, RECEIVER, startHeadless, startTestServer, tempDir, waitFor, type TestServer } from './support';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));
const todevice = (...args: string[]) => run(process.execPath, [cli, ...args], { maxBuffer: 64 * 1024 * 1024 });

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('the CLI, end to end', () => {
  it('cli: send, kill -9 the main process twice, restart, inbox shows every tag exactly once', async () => {
    const dataDir = tempDir('cli');
    let main = await startHeadless(server.url, dataDir);
    const send = async (): Promise<{ run: string; count: number }> => {
      const { stdout } = await todevice('send', '--homeserver', server.url, '--to', `@${RECEIVER.user}:localhost`, '--device', RECEIVER.deviceId, '--count', '100');
      return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { run: string; count: number };
    };
    // Three sends of 100; during each of the first two, main is killed once it committed some of that send's
    // messages, so every kill interrupts a live stream.
    const runs: Array<{ run: string; count: number }> = [];
    for (let kill = 0; kill < 2; kill += 1) {
      const before = committedRowCount(dataDir);
      const sending = send();
      await waitFor(() => committedRowCount(dataDir) >= before + 20, 30_000, () => `inbox stayed at ${committedRowCount(dataDir)} rows`);
      main.child.kill('SIGKILL');
      await main.exited;
      runs.push(await sending);
      main = await startHeadless(server.url, dataDir);
    }
    runs.push(await send());
    expect(runs.map((run) => run.count)).toEqual([100, 100, 100]);
    try {
      type InboxJson = {
        handled: Array<{ consumer: string; rows: number; distinct_tags: number; duplicates: number }>;
        inbox: Array<{ content: { tag?: string } }>;
        inbox_seq: { last_appended: number };
      };
      let inbox: InboxJson | undefined;
      const mainHandled = () => inbox?.handled.find((h) => h.consumer === 'main');
      await waitFor(
        async () => {
          inbox = JSON.parse((await todevice('inbox', '--data', dataDir, '--json')).stdout) as InboxJson;
          return (mainHandled()?.rows ?? 0) >= 300;
        },
        20_000,
        () => `main handled ${JSON.stringify(mainHandled())}`,
      );
      // Exactly once, from the main consumer's own record (the inbox itself is compacted as main goes).
      expect(mainHandled()).toEqual({ consumer: 'main', rows: 300, distinct_tags: 300, duplicates: 0 });
      expect(inbox?.inbox_seq.last_appended).toBe(300);
      const tags = inbox?.inbox.map((row) => row.content.tag) ?? [];
      expect(tags.length).toBeGreaterThan(0);
      expect(tags.length).toBeLessThanOrEqual(200);
      expect(new Set(tags).size).toBe(tags.length);
      expect(tags.every((tag) => runs.some((run) => tag?.startsWith(`${run.run}-`)))).toBe(true);
      const text = (await todevice('inbox', '--data', dataDir)).stdout;
      expect(text).toContain('main: 300 rows, 300 distinct tags, 0 duplicated');
      expect(text).toMatch(/^storage {3}.*auto_vacuum incremental/m);
    } finally {
      main.child.kill('SIGTERM');
      await main.exited;
    }
  }, 180_000); // several fresh Node processes, one after another: minutes on a loaded machine

  it('cli: every subcommand has --help', async () => {
    const commands = ['serve', 'headless', 'inbox', 'timeline', 'join', 'send', 'start', 'reset', 'conformance', 'race', 'bench'];
    const helps = await Promise.all(commands.map((command) => todevice(command, '--help')));
    commands.forEach((command, i) => expect(helps[i]?.stdout).toContain(`Usage: todevice ${command}`));
  }, 180_000); // a fresh Node process per command

  it('cli: bad input gets one clear line and exit code 2, not a stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--port', 'eighty'], /invalid port "eighty"/],
      [['serve', '--host', '0.0.0.0', '--port', '0'], /not a loopback address/],
      [['inbox', '--data', '/nonexistent/todevice'], /no todevice store/],
      [['headless', '--homeserver', server.url, '--data', tempDir('bad'), '--user', 'x', '--password', 'y', '--strategy', 'yolo'], /unknown strategy "yolo"/],
      [['send', '--homeserver', server.url, '--to', 'phone', '--device', 'D'], /full user ID/],
    ];
    for (const [args, message] of cases) {
      const failure = await todevice(...args).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure, args.join(' ')).toBeDefined();
      expect(failure?.code, args.join(' ')).toBe(2);
      expect(failure?.stderr).toMatch(message);
      expect(failure?.stderr).not.toMatch(/\n\s+at /);
    }
  }, 180_000); // several fresh Node processes, one after another: minutes on a loaded machine

  it('cli: a malformed --retain gets one clear line and exit code 2', async () => {
    const cases: Array<[string, RegExp]> = [
      ['inbox=lots', /invalid --retain "inbox=lots": LIMIT must be/],
      ['cache=10', /invalid --retain "cache=10": expected WHAT=LIMIT with WHAT one of inbox, notifier/],
    ];
    for (const [retain, message] of cases) {
      const args = ['headless', '--homeserver', server.url, '--data', tempDir('bad'), '--user', 'x', '--password', 'y', '--retain', retain];
      const failure = await todevice(...args).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code, retain).toBe(2);
      expect(failure?.stderr).toMatch(message);
    }
  });
});
