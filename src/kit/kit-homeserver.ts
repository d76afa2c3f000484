/**
 * The kit's homeserver: a real `todevice serve` child process on 127.0.0.1 port 0 with its own data directory,
 * and its admin surface (faults and inspection) as plain methods.
 *
 * Runtime: node. Guarantees:
 * - the server is the shipped command (`bin/todevice.mjs serve`), started exactly as a user starts it, so a test
 *   exercises what a user runs, and the process can be suspended or killed like any other (kit-processes.ts);
 * - every fault the kit adds is recorded in the run's timeline at the moment the server accepted it, so a
 *   verdict shows when each fault was armed (a fault is consumed by the device's next matching requests);
 * - `close()` resumes a suspended server first (a stopped process cannot handle SIGTERM), stops it with
 *   SIGTERM, SIGKILLs it after `stopTimeoutMs`, and never throws for a server the test killed itself;
 * - the admin token and the devices' access tokens are secrets: nothing here prints or logs them.
 * `compat: 'synapse'` starts `todevice serve --compat synapse`, which answers the to-device extension as Synapse
 * does, its differences included (src/homeserver/synapse-to-device.ts), so a client can be tested against
 * both behaviours with the same test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AdminClient } from '../homeserver/admin-client';
import type { DeviceInspection, Fault, FaultEndpoint, RunRetentionResponse } from '../shared/admin-wire';
import { FAULT_ENDPOINTS } from '../shared/admin-wire';
import { ciphertextDigest } from './kit-ciphertext';
import type { KitRun } from './kit-run';

const cliEntry = fileURLToPath(new URL('../../bin/todevice.mjs', import.meta.url));
const startTimeoutMs = 30_000;
const stopTimeoutMs = 10_000;
const logTailLines = 200;

/** A device as the admin surface names it. */
export interface DeviceRef {
  userId: string;
  deviceId: string;
}

export interface HomeserverOptions {
  /** Server name in user IDs (`@alice:NAME`). Default `localhost`. */
  serverName?: string;
  /** `file` (default): an SQLite file in the data directory, so the server survives a SIGKILL and restart. `memory`: none. */
  db?: 'file' | 'memory';
  /** Data directory of the server; default a fresh temporary directory, removed by `close()`. */
  dataDir?: string;
  /** Append the server's stderr (its request log) to this file. */
  logFile?: string;
  /** Log every request (default true); false passes `--quiet`. */
  requestLog?: boolean;
  /** `todevice` (default) or `synapse`: answer the to-device extension as Synapse does (`--compat synapse`). */
  compat?: 'todevice' | 'synapse';
}

/** What the server holds for one device (`GET /_todevice/admin/devices/...`). */
export interface KitInspection {
  /**
   * Messages still queued (accepted, not yet acknowledged), in delivery order, with their tags where the server can
   * read one; an Olm-encrypted row carries its tag inside the ciphertext, so it has `ciphertextDigest` instead, the
   * digest the kit's sender logged for it (kit-ciphertext.ts).
   */
  queued: Array<{ streamId: number; type: string; sender: string; tag: string | undefined; ciphertextDigest: string | undefined }>;
  /** Highest stream position the device acknowledged with a `since` (0 when none). */
  acknowledged: number;
  /** Messages ever accepted into the device's queue. */
  accepted: number;
  /** Messages ever included in a response (a redelivery counts again). */
  delivered: number;
  /** Messages ever deleted by an acknowledgement. */
  deleted: number;
  /**
   * The device's sync requests waiting now for a to-device message (long polls in flight). Wait for this to be
   * at least 1 before a fault meant for "every request after the one in flight".
   */
  waitingPolls: number;
}

export interface FaultOptions {
  /** How many of the device's matching requests the fault affects. Default 1. */
  count?: number;
  /** Which endpoint's requests: `sync` (default: sliding and classic), `keys/upload`, `keys/query`, `keys/claim`. */
  endpoint?: FaultEndpoint;
}

export interface KitFaults {
  /** The server fully processes the device's next `count` requests (a sync acknowledges its `since`), then resets the connection. */
  dropResponses(device: DeviceRef, options?: FaultOptions): Promise<void>;
  /** The device's next `count` responses are held `delayMs` after being computed and committed. */
  delayResponses(device: DeviceRef, delayMs: number, options?: FaultOptions): Promise<void>;
  /** The device's next `count` requests get `status` before any processing (nothing acknowledged or stored). */
  failRequests(device: DeviceRef, status: 429 | 500, options?: FaultOptions & { retryAfterMs?: number }): Promise<void>;
  /** Every sliding sync `pos` issued to the device so far becomes unknown (next use: 400 `M_UNKNOWN_POS`). */
  expirePos(device: DeviceRef): Promise<void>;
  /** Holds the device's next `count` `/keys/upload` responses `holdMs` after the keys were stored. */
  holdKeysUpload(device: DeviceRef, holdMs: number, options?: { count?: number }): Promise<void>;
  /** Removes every fault not yet consumed. */
  clear(): Promise<void>;
  /** Faults not yet consumed, per device. */
  pending(): Promise<Array<{ userId: string; deviceId: string; fault: Fault }>>;
}

export interface KitAdmin {
  /** Runs the server's retention pass as if its clock read `nowMs` (default now). */
  runRetention(nowMs?: number): Promise<RunRetentionResponse>;
}

export interface KitHomeserver {
  /** Base URL of the client-server API, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly serverName: string;
  /** Whose to-device extension behaviour the server answers with. */
  readonly compat: 'todevice' | 'synapse';
  /** PID of the `todevice serve` process (to suspend or kill it with the process helpers). */
  readonly pid: number;
  readonly dataDir: string;
  /** The SQLite file, or `:memory:`. */
  readonly dbPath: string;
  readonly faults: KitFaults;
  /** The admin surface's calls the kit does not wrap otherwise. */
  readonly admin: KitAdmin;
  /** Token of the admin surface, for a tool of your own that talks to it (a secret: never print it). */
  readonly adminToken: string;
  inspect(device: DeviceRef): Promise<KitInspection>;
  /** The last lines the server wrote to stderr. */
  logTail(): string[];
  /** Stops the server (see the module header) and removes a data directory the kit created. */
  close(): Promise<void>;
}

export async function startKitHomeserver(run: KitRun, options: HomeserverOptions = {}): Promise<KitHomeserver> {
  const compat = options.compat ?? 'todevice';
  if (compat !== 'todevice' && compat !== 'synapse') throw new Error(`todevice kit: homeserver compat must be "todevice" or "synapse", got "${String(compat)}"`);
  if (options.db !== undefined && options.db !== 'file' && options.db !== 'memory') {
    throw new Error(`todevice kit: homeserver db must be "file" or "memory", got "${String(options.db)}"`);
  }
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-kit-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const dbPath = options.db === 'memory' ? ':memory:' : path.join(dataDir, 'homeserver.db');
  const args = [cliEntry, 'serve', '--port', '0', '--db', dbPath, '--server-name', options.serverName ?? 'localhost', '--compat', compat];
  if (options.requestLog === false) args.push('--quiet');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > logTailLines) tail.shift();
    if (options.logFile !== undefined) fs.appendFileSync(options.logFile, `${line}\n`);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let info: { url: string; admin_token: string; server_name: string };
  try {
    info = await readStartLine(child, exited, tail);
  } catch (error) {
    child.kill('SIGKILL');
    if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const admin = new AdminClient(info.url, info.admin_token);
  run.record('homeserver', `todevice serve${compat === 'todevice' ? '' : ` --compat ${compat}`} started at ${info.url} (pid ${child.pid ?? '?'})`);
  return {
    url: info.url,
    serverName: info.server_name,
    compat,
    pid: child.pid ?? -1,
    dataDir,
    dbPath,
    admin: { runRetention: (nowMs) => admin.runRetention(nowMs) },
    adminToken: info.admin_token,
    faults: kitFaults(admin, run),
    inspect: async (device) => toInspection(await admin.inspectDevice(device.userId, device.deviceId)),
    logTail: () => [...tail],
    close: async () => {
      await stopChild(child, exited);
      if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function readStartLine(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  tail: string[],
): Promise<{ url: string; admin_token: string; server_name: string }> {
  const stdout = child.stdout;
  if (stdout === null) throw new Error('todevice kit: todevice serve has no stdout');
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`todevice kit: todevice serve did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    readline.createInterface({ input: stdout }).once('line', (first) => {
      clearTimeout(timer);
      resolve(first);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`todevice kit: todevice serve exited (${signal ?? code}) before it listened: ${tail.slice(-3).join(' | ')}`));
    });
  });
  return JSON.parse(line) as { url: string; admin_token: string; server_name: string };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
  await exited;
  clearTimeout(timer);
}

function kitFaults(admin: AdminClient, run: KitRun): KitFaults {
  const add = async (device: DeviceRef, fault: Fault, summary: string): Promise<void> => {
    await admin.addFault(device.userId, device.deviceId, fault);
    run.record(fault.kind, `${summary} for ${device.userId}/${device.deviceId}`);
  };
  return {
    dropResponses: (device, options = {}) => {
      const { count, endpoint } = faultTarget(options);
      return add(device, { kind: 'drop-response', count, endpoint }, `drop the next ${count} ${endpoint} response(s) after processing`);
    },
    delayResponses: (device, delayMs, options = {}) => {
      const { count, endpoint } = faultTarget(options);
      const delay = nonNegativeInteger('delayMs', delayMs);
      return add(device, { kind: 'delay', count, endpoint, delay_ms: delay }, `delay the next ${count} ${endpoint} response(s) by ${delay} ms`);
    },
    failRequests: (device, status, options = {}) => {
      if (status !== 429 && status !== 500) throw new Error(`todevice kit: failRequests status must be 429 or 500, got ${String(status)}`);
      const { count, endpoint } = faultTarget(options);
      const retry = options.retryAfterMs === undefined ? {} : { retry_after_ms: nonNegativeInteger('retryAfterMs', options.retryAfterMs) };
      return add(device, { kind: 'error', count, endpoint, status, ...retry }, `answer the next ${count} ${endpoint} request(s) ${status}`);
    },
    expirePos: (device) => add(device, { kind: 'expire-pos' }, 'expire every sliding sync pos issued so far'),
    holdKeysUpload: (device, holdMs, options = {}) => {
      const count = positiveInteger('count', options.count ?? 1);
      const hold = nonNegativeInteger('holdMs', holdMs);
      return add(device, { kind: 'delay', count, endpoint: 'keys/upload', delay_ms: hold }, `hold the next ${count} /keys/upload response(s) ${hold} ms`);
    },
    clear: async () => {
      await admin.clearFaults();
      run.record('clear-faults', 'every pending fault removed');
    },
    pending: async () => (await admin.listFaults()).map((row) => ({ userId: row.user_id, deviceId: row.device_id, fault: row.fault })),
  };
}

function faultTarget(options: FaultOptions): { count: number; endpoint: FaultEndpoint } {
  const endpoint = options.endpoint ?? 'sync';
  if (!FAULT_ENDPOINTS.includes(endpoint)) throw new Error(`todevice kit: endpoint must be one of ${FAULT_ENDPOINTS.join(', ')}, got "${String(endpoint)}"`);
  return { count: positiveInteger('count', options.count ?? 1), endpoint };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`todevice kit: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new Error(`todevice kit: ${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

function toInspection(wire: DeviceInspection): KitInspection {
  return {
    queued: wire.queued.map((row) => ({
      streamId: row.stream_id,
      type: row.type,
      sender: row.sender,
      tag: typeof row.content.tag === 'string' ? row.content.tag : undefined,
      ciphertextDigest: ciphertextDigest(row.content),
    })),
    acknowledged: wire.acked_stream_id,
    accepted: wire.accepted,
    delivered: wire.delivered,
    deleted: wire.deleted,
    waitingPolls: wire.waiting_polls,
  };
}
