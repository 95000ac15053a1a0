import { describe, expect, it } from "vitest";
import { batchQueries, MAX_QUERIES_PER_CALL, minimumCalls } from "../../src/core/gate/batch.js";
import type { MetricQuery } from "../../src/core/gate/queries.js";

function stat(id: string): MetricQuery {
  return {
    kind: "stat",
    id,
    namespace: "AWS/ApiGateway",
    metricName: "Count",
    dimensions: { ApiId: id },
    stat: "Sum",
    period: 60,
    returnData: false,
  };
}

/** `n` ratio units: two inputs and an expression each. */
function ratioUnits(n: number): { queries: MetricQuery[]; units: string[][] } {
  const queries: MetricQuery[] = [];
  const units: string[][] = [];
  for (let i = 0; i < n; i++) {
    queries.push(stat(`a${i}`), stat(`b${i}`), {
      kind: "expression",
      id: `e${i}`,
      expression: `a${i} / b${i}`,
      returnData: true,
    });
    units.push([`e${i}`, `a${i}`, `b${i}`]);
  }
  return { queries, units };
}

describe("batchQueries", () => {
  it("keeps every call at or under 500 queries and uses the fewest calls", () => {
    const { queries, units } = ratioUnits(400); // 1200 queries
    const batches = batchQueries(queries, units);
    expect(batches.map((b) => b.length)).toEqual([498, 498, 204]);
    expect(batches.length).toBe(Math.ceil(1200 / 498));
    expect(new Set(batches.flat().map((q) => q.id)).size).toBe(1200);
  });

  it("never separates an expression from its inputs", () => {
    const { queries, units } = ratioUnits(400);
    for (const batch of batchQueries(queries, units)) {
      const ids = new Set(batch.map((q) => q.id));
      for (const query of batch) {
        if (query.kind === "expression") {
          const n = query.id.slice(1);
          expect(ids.has(`a${n}`) && ids.has(`b${n}`), query.id).toBe(true);
        }
      }
    }
  });

  it("exactly 500 single queries fit one call; 501 need two", () => {
    const five = Array.from({ length: 500 }, (_, i) => stat(`q${i}`));
    expect(
      batchQueries(
        five,
        five.map((q) => [q.id]),
      ).length,
    ).toBe(1);
    const more = [...five, stat("q500")];
    expect(
      batchQueries(
        more,
        more.map((q) => [q.id]),
      ).map((b) => b.length),
    ).toEqual([500, 1]);
  });

  it("repeats a shared input in each call that needs it", () => {
    const queries: MetricQuery[] = [
      stat("shared"),
      stat("x"),
      stat("y"),
      { kind: "expression", id: "ex", expression: "x / shared", returnData: true },
      { kind: "expression", id: "ey", expression: "y / shared", returnData: true },
    ];
    const batches = batchQueries(
      queries,
      [
        ["ex", "x", "shared"],
        ["ey", "y", "shared"],
      ],
      3,
    );
    expect(batches.map((b) => b.map((q) => q.id))).toEqual([
      ["shared", "x", "ex"],
      ["shared", "y", "ey"],
    ]);
  });

  it("refuses a unit larger than one call", () => {
    const queries = Array.from({ length: 4 }, (_, i) => stat(`q${i}`));
    expect(() => batchQueries(queries, [queries.map((q) => q.id)], 3)).toThrow(
      /needs 4 queries, more than the 3/,
    );
  });
});

describe("minimumCalls", () => {
  it("is bound by 500 queries or 100,800 datapoints per call, whichever needs more", () => {
    expect(MAX_QUERIES_PER_CALL).toBe(500);
    expect(minimumCalls(1200, 1200)).toBe(3);
    expect(minimumCalls(600, 600 * 4320)).toBe(26);
    expect(minimumCalls(1, 100_800)).toBe(1);
    expect(minimumCalls(1, 100_801)).toBe(2);
    expect(minimumCalls(0, 0)).toBe(0);
  });
});
