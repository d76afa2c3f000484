#!/usr/bin/env node
// Measures client.db's size as messages are handled, with the store's retention and without it
// (src/bench/store-growth.ts). Usage: node scripts/store-growth.mjs [--messages 100000] [--every 10000]
import { register } from 'tsx/esm/api';

register();
const { measureStoreGrowth, growthTable } = await import('../src/bench/store-growth.ts');
const flag = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
};
const messages = flag('messages', 100_000);
const every = flag('every', 10_000);
const only = process.argv.indexOf('--only');
const conditions = only >= 0 ? [process.argv[only + 1]] : undefined;
const runs = await measureStoreGrowth({ messages, pointEvery: every, conditions, log: (line) => process.stderr.write(`${line}\n`) });
process.stdout.write(growthTable(runs));
