/**
 * The Mann-Whitney U test (Wilcoxon rank-sum) of two independent samples:
 * midranks for ties, the exact null distribution of U for small samples
 * without ties, and the tie-corrected normal approximation with continuity
 * correction otherwise. Pure arithmetic, no I/O.
 *
 * Conventions: `u` is U of the first sample `x`, the number of pairs
 * (x_i, y_j) with x_i > y_j plus half the tied pairs, so u + uOther = n1·n2.
 * "greater" is the alternative that x is stochastically larger than y.
 */
import { normalUpperTail } from "./normal.js";

export type Alternative = "greater" | "less" | "two-sided";

export interface MannWhitneyResult {
  /** U of the first sample. */
  u: number;
  /** U of the second sample: n1·n2 − u. */
  uOther: number;
  n1: number;
  n2: number;
  /** Probability of superiority u / (n1·n2): P(x > y) + ½ P(x = y). */
  probabilityOfSuperiority: number;
  /** p-value for the alternative; 1 when the samples carry no ordering (all values tied). */
  pValue: number;
  alternative: Alternative;
  method: "exact" | "normal";
  /** The standardised statistic of the normal approximation (absent for the exact method). */
  z?: number;
  /** Σ (t³ − t) over groups of tied values, the tie correction of the variance. */
  tieTerm: number;
}

/** The exact distribution is used when there are no ties and n1·n2 is at most this. */
export const EXACT_MAX_PRODUCT = 2500;

/**
 * Midranks (1-based) of the pooled values, and Σ (t³ − t) over tie groups.
 * Values must be finite numbers.
 */
export function midranks(values: readonly number[]): { ranks: Float64Array; tieTerm: number } {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  let tieTerm = 0;
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && values[order[j]!] === values[order[i]!]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) ranks[order[k]!] = rank;
    const t = j - i;
    if (t > 1) tieTerm += t * t * t - t;
    i = j;
  }
  return { ranks, tieTerm };
}

/**
 * U of `x` and the tie term by one merge of the two sorted samples: for each
 * distinct value, the x's there beat every y below it and tie with the y's
 * there. The same as summing midranks (R1 − n1(n1+1)/2), without sorting the
 * pooled sample through a comparator.
 */
export function countPairs(x: readonly number[], y: readonly number[]): { u: number; tieTerm: number } {
  const xs = Float64Array.from(x).sort();
  const ys = Float64Array.from(y).sort();
  let i = 0;
  let j = 0;
  let u = 0;
  let tieTerm = 0;
  while (i < xs.length || j < ys.length) {
    const value = j >= ys.length || (i < xs.length && xs[i]! <= ys[j]!) ? xs[i]! : ys[j]!;
    let cx = 0;
    let cy = 0;
    while (i < xs.length && xs[i] === value) {
      cx++;
      i++;
    }
    const below = j;
    while (j < ys.length && ys[j] === value) {
      cy++;
      j++;
    }
    u += cx * below + 0.5 * cx * cy;
    const t = cx + cy;
    if (t > 1) tieTerm += t * t * t - t;
  }
  return { u, tieTerm };
}

const exactCache = new Map<string, { counts: bigint[]; total: bigint }>();

/**
 * Frequencies of U = 0 … m·n under the null for samples of m and n without
 * ties: the coefficients of the Gaussian binomial [m+n choose m]_q, built as
 * ∏_{i=1..m} (1 − q^{n+i}) / (1 − q^i) in exact integers.
 */
export function exactUDistribution(m: number, n: number): { counts: bigint[]; total: bigint } {
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  const key = `${small}x${large}`;
  const cached = exactCache.get(key);
  if (cached) return cached;
  const size = small * large + 1;
  const counts: bigint[] = new Array<bigint>(size).fill(0n);
  counts[0] = 1n;
  for (let i = 1; i <= small; i++) {
    // Multiply by (1 − q^{large+i}) (descending, so each term reads the old value), then divide by (1 − q^i).
    const shift = large + i;
    for (let k = size - 1; k >= shift; k--) counts[k] = counts[k]! - counts[k - shift]!;
    for (let k = i; k < size; k++) counts[k] = counts[k]! + counts[k - i]!;
  }
  let total = 0n;
  for (const c of counts) total += c;
  const result = { counts, total };
  exactCache.set(key, result);
  return result;
}

/** P(U ≥ u) under the exact null distribution (u an integer). */
function exactUpperTail(u: number, m: number, n: number): number {
  const { counts, total } = exactUDistribution(m, n);
  if (u <= 0) return 1;
  if (u > m * n) return 0;
  let tail = 0n;
  for (let k = u; k <= m * n; k++) tail += counts[k]!;
  return ratio(tail, total);
}

/** tail / total as a double, keeping precision when both exceed 2^53. */
function ratio(tail: bigint, total: bigint): number {
  const bits = total.toString(2).length;
  const shift = BigInt(Math.max(0, bits - 60));
  return Number(tail >> shift) / Number(total >> shift);
}

/** P(U ≥ u) by the tie-corrected normal approximation with continuity correction. */
function normalUpperTailOfU(
  u: number,
  n1: number,
  n2: number,
  tieTerm: number,
): { p: number; z: number | undefined } {
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { p: 1, z: undefined };
  const z = (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance);
  return { p: normalUpperTail(z), z };
}

/**
 * The Mann-Whitney U test of `x` against `y`. Non-finite values are refused:
 * the caller drops missing datapoints before testing.
 */
export function mannWhitney(
  x: readonly number[],
  y: readonly number[],
  alternative: Alternative = "two-sided",
  options: { method?: "auto" | "exact" | "normal" } = {},
): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0)
    throw new RangeError(`Mann-Whitney needs values on both sides (got ${n1} and ${n2})`);
  for (const value of [...x, ...y]) {
    if (!Number.isFinite(value)) throw new RangeError(`Mann-Whitney got a non-finite value ${value}`);
  }
  const { u, tieTerm } = countPairs(x, y);
  const uOther = n1 * n2 - u;
  const requested = options.method ?? "auto";
  const method: "exact" | "normal" =
    requested === "auto" ? (tieTerm === 0 && n1 * n2 <= EXACT_MAX_PRODUCT ? "exact" : "normal") : requested;
  if (method === "exact" && tieTerm !== 0)
    throw new RangeError("the exact distribution of U holds only without ties");
  // The one-sided tail in the direction asked; two-sided doubles the larger U's tail.
  const statistic = alternative === "greater" ? u : alternative === "less" ? uOther : Math.max(u, uOther);
  let pValue: number;
  let z: number | undefined;
  if (method === "exact") {
    pValue = exactUpperTail(Math.round(statistic), n1, n2);
  } else {
    const normal = normalUpperTailOfU(statistic, n1, n2, tieTerm);
    pValue = normal.p;
    z = normal.z;
  }
  if (alternative === "two-sided") pValue = Math.min(1, 2 * pValue);
  return {
    u,
    uOther,
    n1,
    n2,
    probabilityOfSuperiority: u / (n1 * n2),
    pValue,
    alternative,
    method,
    ...(z !== undefined ? { z } : {}),
    tieTerm,
  };
}

/** The median of finite values (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
