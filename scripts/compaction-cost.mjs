#!/usr/bin/env node
// What inbox compaction costs the commit path: a committer process times its commits while this one consumes
// with no compaction, with the background step, or with compaction inside each consume transaction
// (src/bench/compaction-cost.ts). Usage: node scripts/compaction-cost.mjs [--rounds 3] [--batches 600]
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const bench = await import('../src/bench/compaction-cost.ts');
if (process.argv[2] === '--child') {
  const samples = bench.commitLoop(process.argv[3], Number(process.argv[4]));
  process.send(samples, () => process.exit(0));
} else {
  const flag = (name, fallback) => {
    const index = process.argv.indexOf(`--${name}`);
    const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  const rounds = flag('rounds', 3);
  const batches = flag('batches', 600);
  const all = [];
  for (let round = 0; round < rounds; round += 1) {
    // Alternate the order so a disturbance of the shared machine does not always land on the same mode.
    const modes = round % 2 === 0 ? bench.COMPACTION_MODES : [...bench.COMPACTION_MODES].reverse();
    for (const mode of modes) {
      all.push(await bench.measureMode(mode, batches, fileURLToPath(import.meta.url)));
      process.stderr.write(`round ${round + 1}: ${mode} done\n`);
    }
  }
  process.stdout.write(bench.describeSamples(all));
}
