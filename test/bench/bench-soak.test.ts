// bench: `todevice bench --soak --messages 20000 --json` runs the soak through the real main process and notifier
// processes and reports finite sizes, rows, memory and latencies, with its three targets judged. No timing is
// asserted (these machines are shared); the targets are present and judged, whichever way.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface SoakJson {
  messages: number;
  pushes: number;
  roomMessages: number;
  mainRssAtStartKb: number;
  warmup: { messages: number; client: { fileBytes: number; rows: Record<string, number>; tableBytes: Record<string, number> }; server: { fileBytes: number; rows: Record<string, number> }; mainRssKb: number };
  end: SoakJson['warmup'];
  latency: { first: { p50: number; p99: number; samples: number }; last: { p50: number; p99: number; samples: number } };
  notifierFailures: string[];
  figures: Array<{ name: string; value: number; baseline: number; ratio: number; target?: { op: string; ratio: number }; pass?: boolean }>;
}

describe('todevice bench --soak', () => {
  it('bench: a short soak reports finite sizes, rows, memory and latencies, and judges its three targets', async () => {
    const { stdout, stderr } = await run('node', ['bin/todevice.mjs', 'bench', '--soak', '--messages', '20000', '--json'], { maxBuffer: 10_000_000, timeout: 170_000 });
    const report = JSON.parse(stdout) as SoakJson;
    expect(report.messages).toBe(20_000);
    expect(stderr).toMatch(/soak: 20,000 of 20,000 messages, [\d,]+\/s, ETA 0 s/);
    expect(report.notifierFailures).toEqual([]);
    expect(report.pushes).toBeGreaterThan(0);
    expect(report.roomMessages).toBeGreaterThan(0);
    expect(report.warmup.messages).toBe(10_000);
    expect(report.end.messages).toBe(20_000);
    for (const point of [report.warmup, report.end]) {
      expect(point.client.fileBytes).toBeGreaterThan(0);
      expect(point.server.fileBytes).toBeGreaterThan(0);
      expect(point.client.rows.inbox).toBeGreaterThan(0);
      expect(point.client.tableBytes.inbox).toBeGreaterThan(0);
      expect(Object.values(point.client.tableBytes).reduce((sum, n) => sum + n, 0)).toBeLessThanOrEqual(point.client.fileBytes);
      expect(point.server.rows.to_device_queue).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(point.mainRssKb) && point.mainRssKb > 0).toBe(true);
    }
    expect(report.end.client.rows.timeline).toBeGreaterThan(0);
    expect(report.end.client.rows.notifications).toBeGreaterThan(0);
    expect(report.latency.first.samples).toBe(2);
    for (const value of [report.latency.first.p50, report.latency.first.p99, report.latency.last.p50, report.latency.last.p99, report.mainRssAtStartKb]) {
      expect(Number.isFinite(value) && value > 0).toBe(true);
    }
    const targets = report.figures.filter((f) => f.target !== undefined);
    expect(targets.map((f) => `${f.name} ${f.target?.op} ${f.target?.ratio}`)).toEqual([
      'client.db after 20,000 messages <= 2',
      'main RSS at the end <= 1.25',
      'send→handled p99, last 10% <= 1.25',
    ]);
    for (const figure of report.figures) {
      expect(Number.isFinite(figure.value) && Number.isFinite(figure.baseline) && figure.baseline > 0, figure.name).toBe(true);
      expect(figure.ratio, figure.name).toBeCloseTo(figure.value / figure.baseline, 9);
    }
    for (const figure of targets) expect(typeof figure.pass, figure.name).toBe('boolean');
  }, 180_000);

  it('bench: --messages without --soak, and a soak too short to have a warm-up, are usage errors', async () => {
    for (const args of [['--messages', '20000'], ['--soak', '--messages', '5000']]) {
      const failed = await run('node', ['bin/todevice.mjs', 'bench', ...args]).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code, args.join(' ')).toBe(2);
      expect(failed?.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  }, 60_000);
});
