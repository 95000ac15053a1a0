/**
 * The compare check's arithmetic: one Mann-Whitney test over a week of
 * 1-minute periods per side, the exact distribution at its largest size, and
 * every look of a 72 h bake judged as the monitor (or a replay) would, with
 * cumulative windows and early decisions on.
 *
 *   npx tsx bench/judge.ts
 */
import { judgeCompareCheck } from "../src/core/gate/compare.js";
import { EXACT_MAX_PRODUCT, exactUDistribution, mannWhitney } from "../src/core/gate/mann-whitney.js";
import type { CompareCheckSpec } from "../src/model/spec.js";

function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const draw = uniform(1);
const latencies = (n: number, median: number) =>
  Array.from(
    { length: n },
    () =>
      Math.round(
        median * Math.exp(0.3 * Math.sqrt(-2 * Math.log(1 - draw())) * Math.cos(2 * Math.PI * draw())) * 10,
      ) / 10,
  );

function time(label: string, runs: number, body: () => void, warm = true): void {
  if (warm) body();
  const started = performance.now();
  for (let i = 0; i < runs; i++) body();
  const ms = (performance.now() - started) / runs;
  console.log(`${label}: ${ms.toFixed(2)} ms`);
}

const week = 7 * 24 * 60;
const weekNew = latencies(week, 210);
const weekOld = latencies(week, 200);
time(`mann-whitney, ${week} vs ${week} periods (7 days of 1-minute periods, normal approximation)`, 5, () => {
  mannWhitney(weekNew, weekOld, "greater");
});

const side = Math.floor(Math.sqrt(EXACT_MAX_PRODUCT));
time(
  `exact distribution of U, ${side} × ${side + 1} (about the largest the exact method takes; first call, before its cache)`,
  1,
  () => {
    exactUDistribution(side, side + 1);
  },
  false,
);

const check: CompareCheckSpec = {
  kind: "compare",
  method: "mann-whitney",
  name: "vs-old",
  confidence: 0.95,
  score: { pass: 90, marginal: 50 },
  metrics: [
    { name: "latency-p95", metric: "latency-p95", direction: "higher-is-worse", allowedChange: 0.05 },
    { name: "latency-p50", metric: "latency-p50", direction: "higher-is-worse", allowedChange: 0.05 },
  ],
  early: { rollback: true, passAfter: "24h" },
};
const bakeMinutes = 72 * 60;
const bakeNew = latencies(bakeMinutes, 200);
const bakeOld = latencies(bakeMinutes, 200);
const looks = bakeMinutes / 15;
time(
  `every look of a 72 h bake (${looks} looks, 2 metrics, cumulative windows, early decisions on)`,
  1,
  () => {
    for (let look = 1; look <= looks; look++) {
      const n = look * 15;
      const data = check.metrics.map((spec) => ({
        spec,
        newValues: bakeNew.slice(0, n),
        oldValues: bakeOld.slice(0, n),
        requests: { new: 10_000, old: 90_000 },
        missingPeriods: { new: 0, old: 0 },
      }));
      judgeCompareCheck(check, data, 1000, { elapsedSeconds: look * 900, bakeSeconds: 72 * 3600 });
    }
  },
);
