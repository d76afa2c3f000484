#!/usr/bin/env node
// `npm test`: lint, typecheck, the Electron build, every Vitest suite, the Playwright end-to-end suite, then the
// kill campaign, and one closing line `N passed, N failed, N skipped` that counts every test of both runners
// (lint, each typecheck and the build count as one check each). Each step's own output streams through, so a
// failure is read where it happened; the closing lines also name every failed test with the first line of its
// error, so a log read only from its tail still says what failed. A run must leave the work tree as it found it
// (test output belongs in ignored folders: out/, test-results/); the last check compares `git status` before and
// after.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const resultsDir = path.join(root, 'out', 'test-results');
fs.mkdirSync(resultsDir, { recursive: true });

const totals = { passed: 0, failed: 0, skipped: 0 };

/** `git status` of the work tree, untracked files included; null outside a git checkout. */
function workTreeStatus() {
  const result = spawnSync('git', ['status', '--porcelain=v1', '--untracked-files=all'], { cwd: root, encoding: 'utf8' });
  return result.status === 0 ? result.stdout : null;
}
const statusBefore = workTreeStatus();
const failedSteps = [];
/** One line per failed test, `file › name: first line of the error`, repeated at the end of the run. */
const failedTests = [];

/** Terminal colour codes (ESC [ … m), which the runners put in their failure messages. */
const colourCodes = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The first line of a failure message, without terminal colours, cut to one readable line. */
function firstLine(message) {
  const line = String(message ?? '').replaceAll(colourCodes, '').split('\n').find((part) => part.trim() !== '') ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function run(label, command, args, env = {}) {
  process.stdout.write(`\n=== ${label}: ${[command, ...args].join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status === 0;
}

function check(label, command, args) {
  if (run(label, command, args)) totals.passed += 1;
  else {
    totals.failed += 1;
    failedSteps.push(label);
  }
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function countVitest(label, env = {}) {
  const file = path.join(resultsDir, `${label.replace(/\W+/g, '-')}.json`);
  fs.rmSync(file, { force: true });
  const ok = run(label, 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${file}`], env);
  const report = readJson(file);
  if (!report) {
    totals.failed += 1;
    failedSteps.push(`${label} (no report written)`);
    return;
  }
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests;
  totals.skipped += report.numPendingTests + report.numTodoTests;
  for (const suite of report.testResults ?? []) {
    const file = path.relative(root, suite.name);
    for (const test of suite.assertionResults ?? []) {
      if (test.status === 'failed') failedTests.push(`${label}: ${file} › ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
    }
    // A file that failed to load has no tests, only its own message.
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failedTests.push(`${label}: ${file}: ${firstLine(suite.message)}`);
  }
  // A suite that fails to load has no failed tests but still fails the run.
  if (!ok && report.numFailedTests === 0) {
    totals.failed += 1;
    failedSteps.push(`${label} (a suite failed to load)`);
  } else if (report.numFailedTests > 0) failedSteps.push(label);
}

function countPlaywright() {
  const file = path.join(resultsDir, 'playwright.json');
  fs.rmSync(file, { force: true });
  const ok = run('playwright', 'npx', ['playwright', 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: file });
  const playwrightReport = readJson(file);
  const stats = playwrightReport?.stats;
  if (!stats) {
    totals.failed += 1;
    failedSteps.push('playwright (no report written)');
    return;
  }
  totals.passed += stats.expected + stats.flaky;
  totals.failed += stats.unexpected;
  totals.skipped += stats.skipped;
  collectPlaywrightFailures(playwrightReport.suites ?? []);
  if (!ok && stats.unexpected === 0) {
    totals.failed += 1;
    failedSteps.push('playwright (run failed)');
  } else if (stats.unexpected > 0) failedSteps.push('playwright');
}

/** Walks Playwright's nested suites for tests whose outcome was unexpected (failed on every retry). */
function collectPlaywrightFailures(suites) {
  for (const suite of suites) {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        if (test.status !== 'unexpected') continue;
        const error = test.results?.at(-1)?.error?.message;
        failedTests.push(`playwright: ${spec.file} › [${test.projectName}] ${spec.title}: ${firstLine(error)}`);
      }
    }
    collectPlaywrightFailures(suite.suites ?? []);
  }
}

check('lint', 'npx', ['eslint', '.']);
check('typecheck (node)', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.node.json']);
check('typecheck (web)', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.web.json']);
// The Electron entry, preload, notifier and sync-process bundles must build even where Electron cannot run.
check('build (electron-vite)', 'npx', ['electron-vite', 'build']);
countVitest('vitest');
countPlaywright();
countVitest('kill campaign', { TODEVICE_CAMPAIGN: '1' });

const statusAfter = workTreeStatus();
process.stdout.write('\n=== work tree: unchanged by the run?\n');
if (statusBefore !== null && statusAfter !== statusBefore) {
  const before = new Set(statusBefore.split('\n'));
  const changed = statusAfter.split('\n').filter((line) => line !== '' && !before.has(line));
  process.stdout.write(`the tests changed the work tree (write test output under test-results/ or out/):\n${changed.join('\n')}\n`);
  totals.failed += 1;
  failedSteps.push('work tree changed');
} else totals.passed += 1;

if (failedSteps.length > 0) process.stdout.write(`\nFailed: ${failedSteps.join(', ')}\n`);
for (const line of failedTests) process.stdout.write(`  ✗ ${line}\n`);
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed === 0 ? 0 : 1);
