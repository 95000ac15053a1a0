import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Alternative,
  exactUDistribution,
  mannWhitney,
  median,
  midranks,
} from "../../src/core/gate/mann-whitney.js";
import { normalQuantile, normalUpperTail } from "../../src/core/gate/normal.js";

/**
 * Known vectors. U and p-values computed with SciPy 1.17.1 (NumPy 2.4.6),
 * scipy.stats.mannwhitneyu(x, y, alternative=…, method="exact" | "asymptotic",
 * use_continuity=True); SciPy's statistic is U of x whatever the alternative.
 * The 30×40 and 50×45 vectors come from a linear congruential sequence
 * (s ← (1103515245·s + 12345) mod 2^31), rounded, and are written out here.
 */
const SCIPY_CASES: Array<{
  name: string;
  x: number[];
  y: number[];
  u: number;
  p: Partial<Record<Alternative, { exact?: number; normal: number }>>;
}> = [
  {
    name: "5 vs 6, no ties",
    x: [19.1, 22.4, 25.0, 17.3, 30.2],
    y: [12.0, 15.5, 18.2, 14.1, 16.6, 20.3],
    u: 27,
    p: {
      "two-sided": { exact: 0.030303030303030304, normal: 0.03576376659097789 },
      greater: { exact: 0.015151515151515152, normal: 0.017881883295488944 },
      less: { exact: 0.9913419913419913, normal: 0.9887605633169374 },
    },
  },
  {
    name: "8 vs 7 with ties (midranks, tie-corrected variance)",
    x: [1, 2, 2, 3, 3, 3, 4, 5],
    y: [2, 3, 4, 4, 5, 5, 6],
    u: 13.5,
    p: {
      "two-sided": { normal: 0.0983349877585014 },
      greater: { normal: 0.9617237827250755 },
      less: { normal: 0.0491674938792507 },
    },
  },
  {
    name: "12 vs 13 latencies in ms",
    x: [212, 198, 230, 245, 201, 219, 260, 233, 208, 241, 227, 215],
    y: [190, 185, 200, 199, 188, 205, 193, 210, 187, 196, 202, 194, 191],
    u: 147,
    p: {
      "two-sided": { exact: 3.730554006499625e-5, normal: 0.00019461275838927864 },
      greater: { exact: 1.8652770032498127e-5, normal: 9.730637919463932e-5 },
      less: { exact: 0.9999871161279157, normal: 0.9999216807633514 },
    },
  },
  {
    name: "30 vs 40, no ties",
    x: [
      309.706, 279.926, 283.167, 319.197, 349.278, 260.271, 347.762, 347.018, 274.369, 283.304, 284.22,
      327.402, 340.426, 328.962, 252.288, 250.986, 293.291, 322.189, 308.443, 272.767, 250.77, 306.357,
      265.501, 340.509, 305.12, 294.63, 346.557, 305.767, 330.794, 296.115,
    ],
    y: [
      295.251, 268.161, 264.702, 243.027, 265.622, 302.335, 312.788, 276.602, 304.296, 310.525, 248.106,
      233.027, 262.228, 237.066, 268.25, 329.283, 284.439, 240.55, 309.596, 249.262, 309.754, 247.134,
      314.136, 259.87, 232.074, 309.903, 256.278, 262.868, 257.54, 321.164, 238.97, 304.336, 241.971, 274.54,
      318.542, 313.621, 242.953, 323.748, 267.639, 293.662,
    ],
    u: 852,
    p: {
      "two-sided": { exact: 0.002469710412885031, normal: 0.002838047298765354 },
      greater: { exact: 0.0012348552064425154, normal: 0.001419023649382677 },
      less: { exact: 0.9988155470171634, normal: 0.9986350626516132 },
    },
  },
  {
    name: "50 vs 45 whole numbers, many ties",
    x: [
      25, 22, 23, 23, 26, 25, 21, 25, 27, 29, 25, 25, 25, 25, 27, 20, 23, 23, 24, 23, 22, 30, 25, 25, 21, 21,
      27, 28, 23, 20, 28, 20, 25, 28, 28, 26, 21, 23, 22, 22, 28, 28, 30, 27, 29, 25, 30, 20, 22, 29,
    ],
    y: [
      27, 24, 24, 31, 24, 29, 27, 28, 31, 27, 30, 27, 28, 27, 24, 26, 30, 21, 31, 28, 27, 29, 24, 28, 29, 24,
      29, 23, 22, 23, 27, 23, 23, 31, 29, 28, 30, 23, 24, 27, 23, 22, 21, 24, 26,
    ],
    u: 822,
    p: {
      "two-sided": { normal: 0.02343727531306622 },
      greater: { normal: 0.9885086512877592 },
      less: { normal: 0.01171863765653311 },
    },
  },
];

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

describe("Mann-Whitney U against SciPy's mannwhitneyu", () => {
  for (const known of SCIPY_CASES) {
    for (const [alternative, expected] of Object.entries(known.p) as [
      Alternative,
      { exact?: number; normal: number },
    ][]) {
      it(`${known.name}, ${alternative}`, () => {
        const normal = mannWhitney(known.x, known.y, alternative, { method: "normal" });
        expect(normal.u).toBe(known.u);
        // The normal tail is accurate to about 1e-7 relative (erfc's fit).
        expect(relativeError(normal.pValue, expected.normal)).toBeLessThan(1e-6);
        if (expected.exact !== undefined) {
          const exact = mannWhitney(known.x, known.y, alternative, { method: "exact" });
          expect(exact.u).toBe(known.u);
          expect(relativeError(exact.pValue, expected.exact)).toBeLessThan(1e-12);
          // "auto" takes the exact distribution for these small samples without ties.
          expect(mannWhitney(known.x, known.y, alternative).method).toBe("exact");
        } else {
          expect(mannWhitney(known.x, known.y, alternative).method).toBe("normal");
        }
      });
    }
  }
});

describe("exact distribution of U", () => {
  it("matches the table of Mann and Whitney (1947) for m = n = 3: frequencies 1 1 2 3 3 3 3 2 1 1 of 20", () => {
    const { counts, total } = exactUDistribution(3, 3);
    expect(counts.map(Number)).toEqual([1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
    expect(total).toBe(20n);
  });

  it("sums to C(m+n, m) and is symmetric around m·n/2", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 25 }), (m, n) => {
        const { counts, total } = exactUDistribution(m, n);
        let binomial = 1n;
        for (let i = 1; i <= m; i++) binomial = (binomial * BigInt(n + i)) / BigInt(i);
        expect(total).toBe(binomial);
        for (let k = 0; k < counts.length; k++) expect(counts[k]).toBe(counts[counts.length - 1 - k]);
        expect(counts.every((c) => c >= 0n)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

const sample = (min: number, max: number) =>
  fc.array(fc.integer({ min: -50, max: 50 }), { minLength: min, maxLength: max });

describe("properties of U", () => {
  it("U1 + U2 = n1·n2, and swapping the sides with the direction flipped gives the same test", () => {
    fc.assert(
      fc.property(
        sample(1, 40),
        sample(1, 40),
        fc.constantFrom<Alternative>("greater", "less"),
        (x, y, alt) => {
          const forward = mannWhitney(x, y, alt);
          const swapped = mannWhitney(y, x, alt === "greater" ? "less" : "greater");
          expect(forward.u + forward.uOther).toBe(x.length * y.length);
          expect(swapped.u).toBe(forward.uOther);
          expect(swapped.pValue).toBeCloseTo(forward.pValue, 12);
          const twoSided = mannWhitney(x, y, "two-sided");
          expect(mannWhitney(y, x, "two-sided").pValue).toBeCloseTo(twoSided.pValue, 12);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("U counts pairs: #(x > y) + ½ #(x = y), ties included", () => {
    fc.assert(
      fc.property(sample(1, 30), sample(1, 30), (x, y) => {
        let pairs = 0;
        for (const a of x) for (const b of y) pairs += a > b ? 1 : a === b ? 0.5 : 0;
        expect(mannWhitney(x, y).u).toBe(pairs);
      }),
      { numRuns: 300 },
    );
  });

  it("is invariant under a strictly increasing transform of both samples", () => {
    const transforms: Array<(v: number) => number> = [
      (v) => Math.exp(v / 10),
      (v) => v * 3 + 1000,
      (v) => Math.cbrt(v),
      (v) => Math.atan(v / 7),
    ];
    fc.assert(
      fc.property(
        sample(1, 40),
        sample(1, 40),
        fc.integer({ min: 0, max: transforms.length - 1 }),
        (x, y, t) => {
          const f = transforms[t]!;
          const before = mannWhitney(x, y, "greater");
          const after = mannWhitney(x.map(f), y.map(f), "greater");
          expect(after.u).toBe(before.u);
          expect(after.tieTerm).toBe(before.tieTerm);
          expect(after.pValue).toBeCloseTo(before.pValue, 12);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("midranks: tied values share the mean of their ranks and the ranks sum to n(n+1)/2", () => {
    fc.assert(
      fc.property(sample(1, 60), (values) => {
        const { ranks, tieTerm } = midranks(values);
        const n = values.length;
        expect(ranks.reduce((a, b) => a + b, 0)).toBeCloseTo((n * (n + 1)) / 2, 9);
        let expectedTie = 0;
        const groups = new Map<number, number[]>();
        values.forEach((v, i) => {
          groups.set(v, [...(groups.get(v) ?? []), ranks[i]!]);
        });
        for (const group of groups.values()) {
          expect(new Set(group).size).toBe(1);
          expectedTie += group.length ** 3 - group.length;
        }
        expect(tieTerm).toBe(expectedTie);
      }),
    );
  });

  it("p-values are probabilities, and one-sided tails add up to about one", () => {
    fc.assert(
      fc.property(sample(2, 40), sample(2, 40), (x, y) => {
        const greater = mannWhitney(x, y, "greater").pValue;
        const less = mannWhitney(x, y, "less").pValue;
        for (const p of [greater, less]) expect(p >= 0 && p <= 1).toBe(true);
        // Continuity correction (or the exact atom at U) makes the two tails overlap a little.
        expect(greater + less).toBeGreaterThanOrEqual(1 - 1e-9);
      }),
    );
  });

  it("all values tied carries no ordering: p = 1 either way", () => {
    const result = mannWhitney([5, 5, 5], [5, 5, 5, 5], "greater");
    expect(result.u).toBe(6);
    expect(result.pValue).toBe(1);
  });

  it("refuses empty sides and non-finite values", () => {
    expect(() => mannWhitney([], [1])).toThrow(/both sides/);
    expect(() => mannWhitney([1, Number.NaN], [1])).toThrow(/non-finite/);
  });
});

describe("normal distribution", () => {
  // Expected values from SciPy 1.17.1: scipy.stats.norm.sf(5), norm.ppf(0.975), norm.ppf(1e-6).
  it("tail and quantile agree with SciPy's norm.sf and norm.ppf", () => {
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 7);
    expect(relativeError(normalUpperTail(5), 2.866515718791939e-7)).toBeLessThan(1e-6);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424308822899, 7);
  });

  it("median of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
