/**
 * The harness's seeded randomness: one generator per concern, all derived from the run's seed.
 *
 * Runtime: node. Built on the engine's mulberry32 (`seededRandom`), so the harness and the engine agree on what
 * a seed means. Each consumer (traffic, server faults, kills) derives its own stream with `fork(label)`, so adding
 * a draw to one stream never shifts another: a seed keeps producing the same kills when traffic changes.
 */
import { seededRandom } from '../engine/timing';

export class Rng {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('Rng.pick: empty list');
    return item;
  }

  /** Fisher-Yates on a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  }

  /** An independent stream named `label`, a pure function of this generator's seed and the label. */
  fork(label: string): Rng {
    let hash = this.seed ^ 0x9e3779b9;
    for (let i = 0; i < label.length; i += 1) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
    return new Rng(hash >>> 0);
  }
}
