// Types of `todevice/playwright` (./index.mjs). Written by hand, so a consumer compiles against plain
// declarations rather than the kit's TypeScript sources; test/unit/kit/kit-declarations.test.ts checks that
// the implementation (src/kit/kit.ts) satisfies every declaration here.
import type { Expect, Fixtures, PlaywrightTestArgs, PlaywrightTestOptions, PlaywrightWorkerArgs, PlaywrightWorkerOptions, TestType } from '@playwright/test';

/** A device as the homeserver's admin surface names it. */
export interface DeviceRef {
  userId: string;
  deviceId: string;
}

/** A logged-in device. `accessToken` is a secret: do not print it. */
export interface KitDevice extends DeviceRef {
  accessToken: string;
  homeserverUrl: string;
}

export interface KitUser {
  userId: string;
  password: string;
  /** The user's devices by device ID, in the order they were asked for. */
  devices: Record<string, KitDevice>;
  /** The first device asked for. */
  device: KitDevice;
}

/** Something the kit did (a fault armed, a signal sent, a note), `atMs` after the test started. */
export interface KitEvent {
  atMs: number;
  kind: string;
  detail: string;
}

/** The test's seed, its seeded randomness, and the timeline every verdict prints. */
export declare class KitRun {
  readonly seed: number;
  readonly startedAtMs: number;
  readonly timeline: KitEvent[];
  omittedEvents: number;
  /** @param seed an integer in [0, 2^32) */
  constructor(seed: number);
  /** A float in [0, 1) from the run's seeded stream: use it for the test's own random choices. */
  random(): number;
  record(kind: string, detail: string): void;
  describeTimeline(): string[];
}

/** `TODEVICE_SEED` when set (to replay a failing test), else a fresh seed. */
export declare function chooseSeed(fromEnv?: string): number;

/** A client-server API call of the kit that got a non-2xx answer. */
export declare class KitHttpError extends Error {
  readonly status: number;
  readonly errcode: string | undefined;
  constructor(status: number, errcode: string | undefined, message: string);
}

export interface HomeserverOptions {
  /** Server name in user IDs (`@alice:NAME`). Default `localhost`. */
  serverName?: string;
  /** `file` (default): SQLite in the data directory (survives a SIGKILL and restart). `memory`: no file. */
  db?: 'file' | 'memory';
  /** Data directory; default a fresh temporary directory, removed by `close()`. (The fixture sets its own.) */
  dataDir?: string;
  /** Append the server's stderr (its request log) to this file. (The fixture writes `homeserver.log` in the test's output.) */
  logFile?: string;
  /** Log every request (default true); false starts the server with `--quiet`. */
  requestLog?: boolean;
  /**
   * `todevice` (default), or `synapse`: `todevice serve --compat synapse`, which answers the to-device extension
   * as Synapse does, its differences included, so one test can run against both behaviours.
   */
  compat?: 'todevice' | 'synapse';
}

/** What the server holds for one device. */
export interface KitInspection {
  /** Messages accepted and not yet acknowledged, in delivery order, with their `tag` where they carry one. */
  /**
   * An Olm-encrypted row carries its tag inside the ciphertext, which the server cannot read: it has
   * `ciphertextDigest` instead, the digest the kit's sender logged for that message.
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

export type FaultEndpoint = 'sync' | 'keys/upload' | 'keys/query' | 'keys/claim';

export interface FaultOptions {
  /** How many of the device's matching requests the fault affects. Default 1. */
  count?: number;
  /** Whose requests: `sync` (default; sliding and classic), `keys/upload`, `keys/query`, `keys/claim`. */
  endpoint?: FaultEndpoint;
}

/** A fault as the server lists it. */
export type Fault =
  | { kind: 'drop-response'; count: number; endpoint?: FaultEndpoint }
  | { kind: 'delay'; count: number; delay_ms: number; endpoint?: FaultEndpoint }
  | { kind: 'error'; count: number; status: 429 | 500; retry_after_ms?: number; endpoint?: FaultEndpoint }
  | { kind: 'expire-pos' };

/** Faults for one device's next requests. Each is recorded in the test's timeline when the server accepts it. */
export interface KitFaults {
  /** The server fully processes the next `count` requests (a sync acknowledges its `since`), then resets the connection. */
  dropResponses(device: DeviceRef, options?: FaultOptions): Promise<void>;
  /** The next `count` responses are held `delayMs` after being computed and committed. */
  delayResponses(device: DeviceRef, delayMs: number, options?: FaultOptions): Promise<void>;
  /** The next `count` requests get `status` before any processing (nothing acknowledged or stored). */
  failRequests(device: DeviceRef, status: 429 | 500, options?: FaultOptions & { retryAfterMs?: number }): Promise<void>;
  /** Every sliding sync `pos` issued to the device so far becomes unknown (next use: 400 `M_UNKNOWN_POS`). */
  expirePos(device: DeviceRef): Promise<void>;
  /** Holds the next `count` (default 1) `/keys/upload` responses `holdMs` after the keys were stored. */
  holdKeysUpload(device: DeviceRef, holdMs: number, options?: { count?: number }): Promise<void>;
  /** Removes every fault not yet consumed. */
  clear(): Promise<void>;
  /** Faults not yet consumed. */
  pending(): Promise<Array<{ userId: string; deviceId: string; fault: Fault }>>;
}

/** The admin surface's calls the kit does not wrap otherwise. */
export interface KitAdmin {
  /** Runs the server's retention pass as if its clock read `nowMs` (default now). */
  runRetention(nowMs?: number): Promise<{ transactions: number; sliding_sync_connections: number; sliding_sync_room_sends: number }>;
}

/** A running `todevice serve` (127.0.0.1, port 0) with faults and inspection. */
export interface KitHomeserver {
  /** Base URL of the client-server API, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly serverName: string;
  /** Whose to-device extension behaviour the server answers with. */
  readonly compat: 'todevice' | 'synapse';
  /** PID of the `todevice serve` process, for `processes.suspend({ pid })` and friends. */
  readonly pid: number;
  readonly dataDir: string;
  /** The SQLite file, or `:memory:`. */
  readonly dbPath: string;
  readonly faults: KitFaults;
  readonly admin: KitAdmin;
  /** Token of the admin surface (`/_todevice/admin`), for a tool of your own that talks to it. A secret: never print it. */
  readonly adminToken: string;
  inspect(device: DeviceRef): Promise<KitInspection>;
  /** The last lines the server wrote to stderr. */
  logTail(): string[];
  /** Resumes the server if suspended, stops it (SIGTERM, then SIGKILL after 10 s), removes a data directory the kit created. */
  close(): Promise<void>;
}

export interface RoomOptions {
  /** Adds `m.room.encryption` (Megolm) to the initial state. Default true. */
  encrypted?: boolean;
  name?: string;
}

export interface KitAccounts {
  /**
   * Registers every user with its devices in one call; the first device by `/register`, each further one by a
   * password login, so each has its own queue and token.
   * @example const { alice, bob } = await accounts.register({ alice: ['PHONE', 'LAPTOP'], bob: 'DESKTOP' });
   */
  register<Names extends string>(users: Record<Names, string | readonly string[]>): Promise<Record<Names, KitUser>>;
  /** Logs `user` in on one more device. */
  addDevice(user: KitUser, deviceId: string): Promise<KitDevice>;
  /** Creates a room as `creator`, invites and joins every member; resolves with the room ID. */
  createRoom(creator: KitDevice, members: readonly KitDevice[], options?: RoomOptions): Promise<string>;
}

/** One message the server accepted (the sender got 200). */
export interface SentMessage {
  /** `s<i>-<n>`: the i-th sending device of the test, its n-th to-device message. */
  tag: string;
  sender: number;
  n: number;
  from: DeviceRef;
  to: DeviceRef;
  /** The event type the client sees (for an encrypted message, the type inside the Olm payload). */
  type: string;
  kind: 'to-device' | 'room-key';
  /** Sent Olm-encrypted (`m.room.encrypted` on the wire). */
  encrypted: boolean;
  /** For an encrypted message, the digest of its ciphertext, as `inspect()` reports it for the queued row. */
  ciphertextDigest: string | undefined;
  sentAtMs: number;
}

export interface ToDeviceOptions {
  /** How many messages, one request each, in order. Default 1. */
  count?: number;
  /** Event type. Default `org.todevice.test`. */
  type?: string;
  /** Extra content of the n-th message (n from 1); `tag` and `sent_at_ms` are always set by the kit. */
  content?: (n: number) => Record<string, unknown>;
  /**
   * Olm-encrypt each message through the sending device's matrix-rust-sdk `OlmMachine` (default false). The
   * recipient device must have published its keys; the client sees `type` and the content, tag included, after
   * decrypting.
   */
  encrypted?: boolean;
}

export interface RoomMessagesOptions {
  /** How many messages. Default 1. Each has its own Megolm session, so one lost key loses one message. */
  count?: number;
  /** Body of the n-th message. Default `message <n>`. */
  body?: (n: number) => string;
}

export interface SentRoomMessage {
  eventId: string;
  sessionId: string;
  /**
   * Tags of the Olm-encrypted `m.room_key` messages sent before it, one per device that got the key (every device
   * with keys of the recipients' users). Each is `room-key:<session_id>`, which a client derives from the
   * decrypted key; judge each device with `{ recipient }` when several got the same key.
   */
  keyTags: string[];
}

/**
 * Sends in order per sending device (one request at a time, retried with the same transaction ID on network
 * errors, 429 and 5xx), and logs only what the server accepted.
 */
export interface KitSender {
  /** Tagged to-device messages from `from` to `to`; resolves with their tags in send order. */
  toDevice(from: KitDevice, to: DeviceRef, options?: ToDeviceOptions): Promise<string[]>;
  /**
   * Megolm `m.room.encrypted` messages into `roomId`, each after its key (an Olm-encrypted `m.room_key`, from the
   * sending device's `OlmMachine`) reached every device of `to`; those devices must have published Olm keys.
   */
  roomMessages(from: KitDevice, roomId: string, to: DeviceRef | readonly DeviceRef[], options?: RoomMessagesOptions): Promise<SentRoomMessage[]>;
  /** Every message accepted so far, in send order. */
  sent(): readonly SentMessage[];
  close(): void;
}

export interface Verdict {
  /** Nothing lost, pending, duplicated, reordered or unknown. */
  ok: boolean;
  accepted: number;
  handledOnce: number;
  /** Accepted, never handled, and deleted by the server (the device acknowledged past it): gone for good. */
  lost: string[];
  /** Accepted, never handled, still queued: the server would still deliver it. */
  pending: string[];
  duplicated: Array<{ tag: string; times: number }>;
  /** First handled after a later message of the same sender. */
  reordered: string[];
  /** Handled but never accepted from this test's sender. */
  unknown: string[];
  server: Array<DeviceRef & KitInspection>;
  seed: number;
  /** Counts, the tags involved, the server's counters, the seed and the fault timeline. */
  message: string;
}

export interface JudgeOptions {
  /**
   * Judge only messages sent to this device. Default: every recipient. A room key shared with several devices has one tag
   * (`room-key:<session_id>`) for all of them, so judging it needs a recipient: without one, that is an error.
   */
  recipient?: DeviceRef;
}

export interface WaitOptions extends JudgeOptions {
  /** Judge what there is after this long. Default 15000. */
  timeoutMs?: number;
}

export interface KitOracle {
  readonly seed: number;
  /** A line in the timeline (`oracle.note('page reload')`). */
  note(what: string): void;
  /** The verdict for `handled`: every handling the client reported, in order (a tag twice for a duplicate). */
  judge(handled: readonly string[], options?: JudgeOptions): Promise<Verdict>;
  /** Waits until every accepted message was handled once (or `timeoutMs`), then judges; never throws for the verdict. */
  waitForHandled(readHandled: () => readonly string[] | Promise<readonly string[]>, options?: WaitOptions): Promise<Verdict>;
  /** Judges, and throws an Error with the verdict's message unless it is clean. */
  expectExactlyOnce(handled: readonly string[], options?: JudgeOptions): Promise<Verdict>;
}

/** How to find a process tree: whatever has `dataDir` on its command line, or one `pid`. */
export type ProcessTarget = { dataDir: string } | { pid: number };

export interface ProcessTree {
  readonly rootPids: readonly number[];
  /** Live processes of the tree now, parents first. */
  pids(): number[];
  readonly description: string;
}

/**
 * Linux only (/proc). Each signal goes to the whole tree, recomputed at the time, parents first.
 * @example
 *   // An Electron app launched with Playwright's `_electron`, or any app started on its own data directory:
 *   const tree = processes.find({ pid: electronApp.process().pid! }); // or processes.find({ dataDir })
 *   processes.suspend(tree); // the OS backgrounding it
 *   await sender.toDevice(bob.device, app, { count: 10 });
 *   processes.resume(tree);
 *   processes.kill(tree);
 *   await processes.waitForExit(tree);
 */
export interface KitProcesses {
  find(target: ProcessTarget): ProcessTree;
  /** SIGSTOP; the fixture resumes whatever is still stopped when the test ends. */
  suspend(target: ProcessTarget | ProcessTree): number[];
  /** SIGCONT. */
  resume(target: ProcessTarget | ProcessTree): number[];
  /** SIGKILL. */
  kill(target: ProcessTarget | ProcessTree): number[];
  /** Resolves once no process of the tree is alive; throws after `timeoutMs` (default 10000). */
  waitForExit(tree: ProcessTree, timeoutMs?: number): Promise<void>;
  resumeAll(): void;
}

/** Options, set with `test.use({ ... })`. */
export interface TodeviceOptions {
  /** Seed of `kitRun.random()` and of every verdict. Default `TODEVICE_SEED`, else a fresh one per test. */
  seed: number | undefined;
  /**
   * How each test's `todevice serve` starts. Default `{}` (server name `localhost`, SQLite file, todevice's own
   * behaviour). `test.use({ homeserverOptions: { compat: 'synapse' } })` runs a file against Synapse's.
   */
  homeserverOptions: Omit<HomeserverOptions, 'dataDir' | 'logFile'>;
}

/** Per-test fixtures. */
export interface TodeviceFixtures {
  /** The test's seed, seeded randomness and timeline. */
  kitRun: KitRun;
  /** A fresh `todevice serve` per test; its log is attached to a failed test, whose data directory is kept. */
  homeserver: KitHomeserver;
  /** Users and devices on `homeserver`. */
  accounts: KitAccounts;
  /** Tagged to-device and Megolm messages, in order, tags returned. */
  sender: KitSender;
  /** Verdicts against what `homeserver` accepted and deleted. */
  oracle: KitOracle;
  /** SIGSTOP / SIGCONT / SIGKILL of process trees; stopped ones are resumed at the end of the test. */
  processes: KitProcesses;
}

/** The fixtures as an object, to extend your own `test`: `base.extend(todeviceFixtures)`. */
export declare const todeviceFixtures: Fixtures<
  TodeviceFixtures & TodeviceOptions,
  object,
  PlaywrightTestArgs & PlaywrightTestOptions,
  PlaywrightWorkerArgs & PlaywrightWorkerOptions
>;

/** Playwright's `test` with the todevice fixtures. */
export declare const test: TestType<
  PlaywrightTestArgs & PlaywrightTestOptions & TodeviceFixtures & TodeviceOptions,
  PlaywrightWorkerArgs & PlaywrightWorkerOptions
>;
export declare const expect: Expect;

export interface Kit {
  run: KitRun;
  homeserver: KitHomeserver;
  accounts: KitAccounts;
  sender: KitSender;
  oracle: KitOracle;
  processes: KitProcesses;
  /** Resumes suspended processes, releases crypto state, stops the homeserver. */
  close(): Promise<void>;
}

export interface CreateKitOptions {
  /** Default `TODEVICE_SEED`, else a fresh one. */
  seed?: number;
  homeserver?: HomeserverOptions;
}

/** The fixtures' parts for a plain script, no test runner: starts a `todevice serve`; `close()` it when done. */
export declare function createKit(options?: CreateKitOptions): Promise<Kit>;

/** The verdict's facts from a send log, the handlings and the server's state (pure). */
export declare function judgeHandled(
  sent: readonly SentMessage[],
  handled: readonly string[],
  server: Array<DeviceRef & KitInspection>,
  recipient?: DeviceRef,
): Omit<Verdict, 'server' | 'seed' | 'message'>;

export declare function describeVerdict(facts: Omit<Verdict, 'message'>, sent: readonly SentMessage[], timeline: readonly string[]): string;
