/**
 * Real-process test support: `todevice serve` and `todevice headless` as OS processes (the shipped commands),
 * a demo sender, and the exactly-once oracle.
 *
 * The oracle compares what the homeserver accepted (its admin inspection) with what the main consumer handled
 * (the `handled` rows written with its cursor): every tag exactly once, nothing left queued.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MatrixClient } from '../../src/engine/matrix-client';
import { DemoTraffic } from '../../src/main/host/demo-traffic';
import { CLIENT_DB_FILE } from '../../src/shared/data-layout';
import { readAccount } from '../../src/store/account';
import { summarizeHandled, handledTags } from '../../src/store/handled';
import { inboxStats } from '../../src/store/inbox';
import { readOlmStats } from '../../src/store/olm-stats';
import { readStoreReadOnly, type ClientStore } from '../../src/store/open-store';
import { startTestServer, type TestServer } from '../conformance/support';

export { startTestServer, type TestServer };

const cliEntry = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));
const notifierEntry = fileURLToPath(new URL('../../src/notifier/index.ts', import.meta.url));
export const RECEIVER = { user: 'phone', password: 'pw', deviceId: 'PHONE' };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs the shipped `todevice` command to its end, as a user runs it; a non-zero exit is a result, not a throw. */
export async function runTodevice(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [cliEntry, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `todevice-${prefix}-`));
}

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  /** Every JSON line printed on stdout after the first. */
  lines: unknown[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** One line a notifier reports (`started`, `notification`, `finished`, ...), with the fields the tests read. */
export type NotifierReport = { kind: string; body?: string; dataMissing?: boolean; outcome?: string; committedEvents?: number; elapsedMs?: number };

/** A process's notifier reports, printed bare (a notifier run) or under `notifier` (a host that started one). */
export function notifierReports(process: RunningProcess): NotifierReport[] {
  return process.lines.map((line) => ((line as { notifier?: NotifierReport }).notifier ?? line) as NotifierReport);
}

function track(child: ChildProcess): RunningProcess {
  const running: RunningProcess = {
    child,
    pid: child.pid ?? -1,
    lines: [],
    stderr: [],
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  if (child.stdout) readline.createInterface({ input: child.stdout }).on('line', (line) => running.lines.push(JSON.parse(line)));
  if (child.stderr) readline.createInterface({ input: child.stderr }).on('line', (line) => running.stderr.push(line));
  return running;
}

export interface HeadlessOptions {
  strategy?: string;
  env?: Record<string, string>;
}

function headlessArgs(url: string, dataDir: string, options: HeadlessOptions): string[] {
  const args = ['headless', '--homeserver', url, '--data', dataDir, '--user', RECEIVER.user, '--password', RECEIVER.password];
  args.push('--device', RECEIVER.deviceId, '--register', '--strategy', options.strategy ?? 'explicit-lease');
  return args;
}

/** Starts `todevice headless` for the receiver device and waits for its first line (it is syncing then). */
export async function startHeadless(url: string, dataDir: string, options: HeadlessOptions = {}): Promise<RunningProcess> {
  return startCommand(headlessArgs(url, dataDir, options), options.env);
}

/** Starts `todevice headless` without waiting for it: for a process armed to die before it prints anything. */
export function spawnHeadless(url: string, dataDir: string, options: HeadlessOptions = {}): RunningProcess {
  const args = [cliEntry, ...headlessArgs(url, dataDir, options)];
  return track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } }));
}

/** Starts `todevice ARGS` (a long-running command such as headless) and waits for its first stdout line. */
export async function startCommand(args: string[], env: Record<string, string> = {}): Promise<RunningProcess> {
  const running = track(spawn(process.execPath, [cliEntry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
  await waitFor(() => running.lines.length > 0, 20_000, () => `todevice ${args[0] ?? ''} did not start: ${running.stderr.join('\n')}`);
  return running;
}

/** Runs one notifier by hand, as a push would (its reports come as JSON lines on stdout). */
export function startNotifier(dataDir: string, eventId: string, roomId: string, env: Record<string, string> = {}, extraArgs: string[] = []): RunningProcess {
  const args = ['--import', import.meta.resolve('tsx'), notifierEntry, '--data', dataDir, '--event-id', eventId, '--room-id', roomId, ...extraArgs];
  return track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Sender {
  traffic: DemoTraffic;
  client: MatrixClient;
  userId: string;
}

/** Registers a sender; the receiver must have been registered (by headless) first. */
export async function makeSender(url: string): Promise<Sender> {
  const anonymous = new MatrixClient({ baseUrl: url });
  const login = await anonymous.register({ username: `sender${Math.random().toString(36).slice(2, 8)}`, password: 'pw', deviceId: 'SENDER' });
  if (!login.ok) throw new Error(`register failed: ${JSON.stringify(login.error)}`);
  const client = anonymous.withAccessToken(login.value.access_token);
  const traffic = new DemoTraffic(client, { userId: `@${RECEIVER.user}:localhost`, deviceId: RECEIVER.deviceId });
  return { traffic, client, userId: login.value.user_id };
}

/** A room with the sender and the receiver in it (the receiver joins with the token its main process stored). */
export async function sharedRoom(url: string, sender: Sender, dataDir: string): Promise<string> {
  const room = await sender.client.createRoom({ invite: [`@${RECEIVER.user}:localhost`] });
  if (!room.ok) throw new Error('createRoom failed');
  const account = withStore(dataDir, (store) => readAccount(store));
  if (!account) throw new Error('no account stored yet');
  const joined = await new MatrixClient({ baseUrl: url, accessToken: account.accessToken }).joinRoom(room.value.roomId);
  if (!joined.ok) throw new Error('join failed');
  return room.value.roomId;
}

/** Reads a data directory's store the way `todevice inbox` does: read-only, so a test never creates or migrates it. */
export function withStore<T>(dataDir: string, read: (store: ClientStore) => T): T {
  return readStoreReadOnly(path.join(dataDir, CLIENT_DB_FILE), read);
}

/**
 * Waits until the process with this PID is in a long poll: its event log holds a sync request with a timeout
 * (the engine writes its buffered log once a long poll is on the wire). A push that arrives then must preempt it.
 */
export async function waitForLongPoll(dataDir: string, pid: number): Promise<void> {
  const inLongPoll = (): boolean =>
    fs.existsSync(path.join(dataDir, CLIENT_DB_FILE)) &&
    withStore(dataDir, (store) =>
      store.statement("SELECT 1 FROM event_log WHERE pid = ? AND kind = 'request' AND json_extract(detail, '$.timeoutMs') > 0 LIMIT 1").get(pid) !== undefined,
    );
  await waitFor(inLongPoll, 20_000, () => `process ${pid} never started a long poll`);
}

/**
 * Waits until the device of a data directory has published its Olm keys (the main process does at its first
 * start). A sender needs them to share a room key, so a test that stops main must wait for them first.
 */
export async function waitForKeysPublished(dataDir: string): Promise<void> {
  const published = (): boolean =>
    fs.existsSync(path.join(dataDir, CLIENT_DB_FILE)) && withStore(dataDir, (store) => readOlmStats(store).identity?.deviceKeysPublished === true);
  await waitFor(published, 30_000, () => `the device of ${dataDir} never published its keys`);
}

/**
 * SIGSTOPs a process at a moment it holds no SQLite write lock, as an OS suspends an app in the background. Where
 * SIGSTOP happens to land inside a write transaction (a consume pass or a lease write, a few milliseconds at a
 * time), the stopped process would keep the lock and every other process of the device would wait out its busy
 * timeout: a hazard of its own, not the one these tests are about. So the lock is probed after stopping, and the
 * process is resumed and stopped again when it held it.
 */
export async function suspendOutsideWriteLock(running: RunningProcess, dataDir: string): Promise<void> {
  const dbPath = path.join(dataDir, CLIENT_DB_FILE);
  for (let attempt = 1; attempt <= 10; attempt += 1) {
    running.child.kill('SIGSTOP');
    if (writeLockFree(dbPath, 1000)) return;
    running.child.kill('SIGCONT');
    // Running again, it finishes the transaction it was stopped in; stop it next once the lock is free.
    await waitFor(() => writeLockFree(dbPath, 0), 10_000, () => `process ${running.pid} kept the write lock for 10 s`);
  }
  throw new Error(`process ${running.pid} was stopped holding the write lock 10 times in a row`);
}

function writeLockFree(dbPath: string, timeoutMs: number): boolean {
  const db = new Database(dbPath, { fileMustExist: true, timeout: timeoutMs });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY') === true) return false;
    throw error;
  } finally {
    db.close();
  }
}

/** Inbox rows that the process with this PID fetched and committed. */
export function rowsFetchedBy(dataDir: string, pid: number): number {
  return withStore(dataDir, (store) => (store.statement('SELECT count(*) AS n FROM inbox WHERE fetched_by_pid = ?').get(pid) as { n: number }).n);
}

/** The main consumer's cursor is at the newest inbox row: nothing committed waits to be handled. */
export function mainCursorAtEnd(dataDir: string): boolean {
  return withStore(dataDir, (store) => {
    const last = inboxStats(store).maxSeq ?? 0;
    const cursor = store.statement("SELECT seq FROM cursors WHERE consumer = 'main'").get() as { seq: number } | undefined;
    return (cursor?.seq ?? 0) >= last;
  });
}

/**
 * Inbox rows ever committed (0 before the main process created the store): the highest seq appended, which the
 * inbox's compaction does not lower.
 */
export function committedRowCount(dataDir: string): number {
  if (!fs.existsSync(path.join(dataDir, CLIENT_DB_FILE))) return 0;
  return withStore(dataDir, (store) => inboxStats(store).lastSeq);
}

export interface DeliveryReport {
  accepted: number;
  queued: number;
  handledRows: number;
  distinctTags: number;
  duplicates: number;
}

export async function deliveryReport(server: TestServer, dataDir: string): Promise<DeliveryReport> {
  const inspection = await server.admin.inspectDevice(`@${RECEIVER.user}:localhost`, RECEIVER.deviceId);
  const { handled, placeholders } = withStore(dataDir, (store) => ({ handled: summarizeHandled(store, 'main'), placeholders: retriedPlaceholders(store) }));
  // An Olm event from a device not queried yet is handled twice: as the encrypted placeholder, and as the row its
  // decryption after /keys/query appended. The placeholder is not a delivery, so it is not a handled row here.
  const handledRows = handled.rows - placeholders;
  return { accepted: inspection.accepted, queued: inspection.queued.length, handledRows, distinctTags: handled.distinctTags, duplicates: handled.duplicates };
}

/** Rows main handled that stayed encrypted and were later decrypted into a new row (`decryption_resolved_by_seq`). */
function retriedPlaceholders(store: ClientStore): number {
  const row = store
    .statement("SELECT count(*) AS n FROM handled h JOIN inbox i ON i.seq = h.seq WHERE h.consumer = 'main' AND i.decryption_resolved_by_seq IS NOT NULL")
    .get() as { n: number };
  return row.n;
}

/** Waits until the main consumer handled every accepted message and the server holds none, then returns the report. */
export async function waitForExactlyOnce(server: TestServer, dataDir: string, timeoutMs = 20_000): Promise<DeliveryReport> {
  let report = await deliveryReport(server, dataDir);
  await waitFor(
    async () => {
      report = await deliveryReport(server, dataDir);
      return report.queued === 0 && report.distinctTags >= report.accepted;
    },
    timeoutMs,
    () => JSON.stringify(report),
  );
  return report;
}

export function mainHandledTags(dataDir: string): Set<string> {
  return withStore(dataDir, (store) => handledTags(store, 'main'));
}
