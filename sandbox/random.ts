/**
 * Seeded pseudo-random numbers for the data plane, so a run with the same
 * seed resolves, fails and delays the same requests the same way.
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast, and good enough for traffic simulation (not for cryptography). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller); one uniform pair per call keeps the sequence easy to reason about. */
export function normal(random: Random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Derives a stable 32-bit seed from a string, so each backend gets its own independent stream. */
export function seedFrom(text: string, base = 0): number {
  let hash = (2166136261 ^ base) >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash;
}
