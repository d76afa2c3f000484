/**
 * Runs the to-device cases (to-device-cases.ts) against one homeserver and says, per rule, pass, fail or
 * deviation.
 *
 * Runtime: node. Guarantees:
 * - What stops the whole run is found first and said in one line (`ConformanceSetupError`): a server that
 *   cannot be reached or is not a Matrix homeserver, registration that is disabled or needs more than
 *   `m.login.dummy`, an accounts file that cannot be used, a server without simplified sliding sync.
 * - Every device a case used is drained afterwards (its queue acknowledged to the end) and logged out, so the
 *   run leaves no test message queued on the server, whatever the cases found.
 * - A case that throws (a network error halfway) is a `fail` with the reason; the other cases still run.
 * Passwords and access tokens are never printed.
 */
import fs from 'node:fs';
import { SLIDING_SYNC_PATH } from '../shared/wire';
import {
  asObject,
  ConformanceHttp,
  ConformanceNetworkError,
  describeAnswer,
  numbersIn,
  toDeviceSection,
  type TestAccount,
  type TestDevice,
} from './conformance-http';
import { TO_DEVICE_CASES, type ConformanceCase, type Verdict } from './to-device-cases';

export class ConformanceSetupError extends Error {
  override name = 'ConformanceSetupError';
}

export type AccountSource = { kind: 'register' } | { kind: 'file'; path: string };

export interface ConformanceOptions {
  homeserverUrl: string;
  accounts: AccountSource;
  /** Case ids to run; all when absent. */
  only?: readonly string[];
  /** Called as each case ends, for progress. */
  onCase?: (row: ConformanceRow, index: number, total: number) => void;
}

export interface ConformanceRow {
  id: string;
  rule: string;
  source: string;
  verdict: Verdict;
  detail: string;
  synapseDifference?: string;
}

export interface ConformanceReport {
  schema: 'todevice.conformance/1';
  homeserver: string;
  accounts: 'registered' | 'from file';
  rows: ConformanceRow[];
  counts: Record<Verdict, number>;
  /** True when no rule failed: every MUST of MSC4538 that the cases check holds. */
  ok: boolean;
}

export const CASE_IDS = TO_DEVICE_CASES.map((c) => c.id);

export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const cases = selectCases(options.only);
  const http = new ConformanceHttp(options.homeserverUrl.replace(/\/+$/, ''));
  await checkIsHomeserver(http);
  const [senderAccount, recipientAccount] = await obtainAccounts(http, options.accounts);
  const used: TestDevice[] = [];
  const sender = await setupStep(() => http.loginNewDevice(senderAccount));
  used.push(sender);
  try {
    await checkSlidingSync(http, sender);
    const rows: ConformanceRow[] = [];
    for (const [index, testCase] of cases.entries()) {
      const row = await runCase(http, testCase, sender, async () => {
        const device = await http.loginNewDevice(recipientAccount);
        used.push(device);
        return device;
      });
      rows.push(row);
      options.onCase?.(row, index, cases.length);
    }
    const counts: Record<Verdict, number> = { pass: 0, fail: 0, deviation: 0 };
    for (const row of rows) counts[row.verdict] += 1;
    return {
      schema: 'todevice.conformance/1',
      homeserver: http.baseUrl,
      accounts: options.accounts.kind === 'register' ? 'registered' : 'from file',
      rows,
      counts,
      ok: counts.fail === 0,
    };
  } finally {
    for (const device of used) await cleanUp(http, device);
  }
}

function selectCases(only: readonly string[] | undefined): readonly ConformanceCase[] {
  if (only === undefined || only.length === 0) return TO_DEVICE_CASES;
  const unknown = only.filter((id) => !CASE_IDS.includes(id));
  if (unknown.length > 0) throw new ConformanceSetupError(`unknown rule ${unknown.join(', ')}; rules: ${CASE_IDS.join(', ')}`);
  return TO_DEVICE_CASES.filter((c) => only.includes(c.id));
}

async function runCase(
  http: ConformanceHttp,
  testCase: ConformanceCase,
  sender: TestDevice,
  newRecipient: () => Promise<TestDevice>,
): Promise<ConformanceRow> {
  const row = { id: testCase.id, rule: testCase.rule, source: testCase.source, ...(testCase.synapseDifference ? { synapseDifference: testCase.synapseDifference } : {}) };
  try {
    return { ...row, ...(await testCase.run({ http, sender, newRecipient })) };
  } catch (error) {
    return { ...row, verdict: 'fail', detail: `the case could not run: ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function setupStep<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ConformanceNetworkError) throw new ConformanceSetupError(error.message);
    throw error;
  }
}

async function checkIsHomeserver(http: ConformanceHttp): Promise<void> {
  const answer = await setupStep(() => http.call('GET', '/_matrix/client/versions'));
  if (answer.status !== 200 || !Array.isArray(asObject(answer.body).versions)) {
    throw new ConformanceSetupError(`${http.baseUrl} does not answer as a Matrix homeserver (GET /_matrix/client/versions: ${describeAnswer(answer)})`);
  }
}

async function checkSlidingSync(http: ConformanceHttp, device: TestDevice): Promise<void> {
  const answer = await setupStep(() => http.slidingSync(device, { enabled: true, limit: 1 }, { connId: 'conformance-probe' }));
  if (answer.status === 404 || answer.status === 405 || asObject(answer.body).errcode === 'M_UNRECOGNIZED') {
    throw new ConformanceSetupError(
      `${http.baseUrl} does not offer simplified sliding sync (POST ${SLIDING_SYNC_PATH}: ${describeAnswer(answer)}), so its to-device extension cannot be checked`,
    );
  }
  if (answer.status !== 200) {
    throw new ConformanceSetupError(`a first sliding sync request was refused (${describeAnswer(answer)}); nothing was checked`);
  }
}

async function obtainAccounts(http: ConformanceHttp, source: AccountSource): Promise<[TestAccount, TestAccount]> {
  if (source.kind === 'file') return readAccountsFile(source.path);
  const runId = Math.random().toString(36).slice(2, 10);
  const first = await registerAccount(http, `todevice-conformance-${runId}-a`);
  const second = await registerAccount(http, `todevice-conformance-${runId}-b`);
  return [first, second];
}

async function registerAccount(http: ConformanceHttp, username: string): Promise<TestAccount> {
  const password = `conformance-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const answer = await setupStep(() =>
    http.call('POST', '/_matrix/client/v3/register', { body: { username, password, auth: { type: 'm.login.dummy' }, inhibit_login: true } }),
  );
  const body = asObject(answer.body);
  if (answer.status === 200 && typeof body.user_id === 'string') return { userId: body.user_id, password };
  if (answer.status === 403) {
    throw new ConformanceSetupError(`registration is disabled on ${http.baseUrl} (${describeAnswer(answer)}): pass --accounts FILE with two existing accounts`);
  }
  if (answer.status === 401) {
    const flows = Array.isArray(body.flows) ? body.flows.map((flow) => JSON.stringify(asObject(flow).stages ?? [])).join(' or ') : 'none given';
    throw new ConformanceSetupError(`registration on ${http.baseUrl} needs more than m.login.dummy (flows: ${flows}): pass --accounts FILE`);
  }
  throw new ConformanceSetupError(`cannot register a test account on ${http.baseUrl}: ${describeAnswer(answer)}`);
}

/** `{"accounts": [{"user_id": "@a:example.org", "password": "…"}, {…}]}`: two accounts, the first sends. */
function readAccountsFile(path: string): [TestAccount, TestAccount] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? 'not valid JSON' : error instanceof Error ? error.message : String(error);
    throw new ConformanceSetupError(`cannot read the accounts file ${path}: ${reason}`);
  }
  const accounts = asObject(parsed).accounts;
  const shape = 'expected {"accounts": [{"user_id": "@a:server", "password": "…"}, {"user_id": "@b:server", "password": "…"}]}';
  if (!Array.isArray(accounts) || accounts.length !== 2) throw new ConformanceSetupError(`${path}: ${shape}`);
  const read = accounts.map((entry) => {
    const item = asObject(entry);
    if (typeof item.user_id !== 'string' || !item.user_id.startsWith('@') || typeof item.password !== 'string') {
      throw new ConformanceSetupError(`${path}: ${shape}`);
    }
    return { userId: item.user_id, password: item.password };
  });
  if (read[0]!.userId === read[1]!.userId) throw new ConformanceSetupError(`${path}: the two accounts must be different users`);
  return [read[0]!, read[1]!];
}

/** Acknowledges everything queued for a device, then logs it out (a server that deletes devices on logout also drops its queue). */
async function cleanUp(http: ConformanceHttp, device: TestDevice): Promise<void> {
  try {
    let since: string | undefined;
    for (let round = 0; round < 1_000; round += 1) {
      const answer = await http.slidingSync(device, { enabled: true, limit: 100, ...(since === undefined ? {} : { since }) }, { connId: 'conformance-drain' });
      const section = toDeviceSection(answer);
      if (answer.status !== 200 || typeof section?.next_batch !== 'string') break;
      if (since !== undefined && numbersIn(section).length === 0) break;
      since = section.next_batch;
    }
    await http.call('POST', '/_matrix/client/v3/logout', { token: device.accessToken, body: {} });
  } catch {
    // Cleaning up is best effort once the server went away; the report already says what the cases found.
  }
}
