// Test helper, run as a child process: allocates as a draining process does (most objects die young, some
// survive a few scavenges), then reports the size of V8's young generation over IPC and exits.
import v8 from 'node:v8';

let survivors: Array<{ seq: number; tag: string; parts: number[] }> = [];
for (let i = 0; i < 3_000_000; i += 1) {
  const row = { seq: i, tag: `t${i}`, parts: [i, i + 1] };
  if (i % 10 === 0) survivors.push(row);
  if (survivors.length > 20_000) survivors = survivors.slice(10_000);
}
const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
process.send?.({ newSpaceBytes: newSpace?.space_size ?? -1, survivors: survivors.length }, undefined, {}, () => process.exit(0));
