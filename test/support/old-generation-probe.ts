// Test helper, run as a child process: allocates as a draining process does over many batches (each batch's
// objects live through a few more batches, long enough to be promoted to the old generation, then die), and
// reports the largest size V8's old space reached over IPC, then exits.
import v8 from 'node:v8';

const oldSpaceBytes = (): number => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')?.space_size ?? -1;

const live: Array<Array<{ seq: number; tag: string; content: { body: string; n: number } }>> = [];
let peakOldSpaceBytes = 0;
for (let round = 0; round < 400; round += 1) {
  const batch = [];
  for (let i = 0; i < 5000; i += 1) batch.push({ seq: i, tag: `event-${round}-${i}`, content: { body: `body ${i} of ${round}`, n: i } });
  live.push(batch);
  if (live.length > 8) live.shift();
  peakOldSpaceBytes = Math.max(peakOldSpaceBytes, oldSpaceBytes());
}
process.send?.({ peakOldSpaceBytes, liveBatches: live.length }, undefined, {}, () => process.exit(0));
