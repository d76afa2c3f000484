// The to-device rules of `todevice conformance` (src/conformance/to-device-cases.ts), run by the suite itself:
// every rule passes against `todevice serve`, and against `todevice serve --compat synapse` exactly the rules
// with a known Synapse difference do not pass. One list of cases serves the command and this suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConformance } from '../../src/conformance/run-conformance';
import { TO_DEVICE_CASES } from '../../src/conformance/to-device-cases';
import { startTestServer, type TestServer } from './support';

describe.each([
  { mode: 'todevice serve', compat: undefined },
  { mode: 'todevice serve --compat synapse', compat: 'synapse' as const },
])('to-device rules against $mode', ({ compat }) => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer(compat === undefined ? {} : { compat });
  });
  afterAll(async () => {
    expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
    await ts.close();
  });

  for (const testCase of TO_DEVICE_CASES) {
    const expected = compat === 'synapse' && testCase.synapseDifference !== undefined ? 'not pass' : 'pass';
    it(`${testCase.id}: ${expected}`, async () => {
      const report = await runConformance({ homeserverUrl: ts.url, accounts: { kind: 'register' }, only: [testCase.id] });
      const row = report.rows[0]!;
      if (expected === 'pass') expect(row, row.detail).toMatchObject({ verdict: 'pass' });
      else expect(row.verdict, row.detail).not.toBe('pass');
    });
  }
});
