/**
 * A seeded reservoir sample (Vitter's algorithm R): offered items one at a time
 * in a stream of unknown length, it keeps a uniform random sample of at most
 * `capacity` of them, in O(1) per item and O(capacity) memory. The report uses it
 * to draw its rows from a streamed run of any size.
 *
 * ```ts
 * const reservoir = new Reservoir(500, 42);
 * for (const item of stream) {
 *   const slot = reservoir.offer();
 *   if (slot >= 0) kept[slot] = item; // replaces what the slot held
 * }
 * ```
 */

/** mulberry32: a small, fast seeded PRNG with 32-bit state, values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform reservoir sampling over a stream (see the module doc). */
export class Reservoir {
  /** Items offered so far. */
  seen = 0;
  private readonly random: () => number;

  /**
   * @param capacity the most items kept (≥ 0).
   * @param seed seed of the PRNG: the same stream and seed keep the same items.
   */
  constructor(
    readonly capacity: number,
    seed = 0,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 0)) throw new Error(`reservoir capacity must be an integer >= 0, got ${capacity}`);
    this.random = mulberry32(seed);
  }

  /** Items currently kept: min(seen, capacity). */
  get size(): number {
    return Math.min(this.seen, this.capacity);
  }

  /**
   * Offers the next item: returns the slot (0 ≤ slot < capacity) it is to be stored
   * in, replacing the slot's item, or −1 when it is not kept.
   */
  offer(): number {
    const i = this.seen++;
    if (i < this.capacity) return i;
    const j = Math.floor(this.random() * (i + 1));
    return j < this.capacity ? j : -1;
  }
}
