import { describe, expect, it } from "vitest";
import { estimateCost, judgeCost, projectionForWindow } from "../../src/core/gate/cost.js";
import type { CostSpec } from "../../src/model/spec.js";

const cost: CostSpec = {
  monthlyProjectionUsd: 720,
  tolerance: 0.25,
  prices: { lambdaPerMillionRequests: 0.2, lambdaPerGbSecond: 0.0000166667, ecsPerTaskHour: 0.05 },
  lambdaMemoryMb: 512,
};

describe("cost estimate", () => {
  it("Lambda: requests at the per-million price plus GB-seconds from Duration and memory", () => {
    const estimate = estimateCost(
      { kind: "lambda", invocations: 2_000_000, durationMs: 4_000_000 },
      cost,
      3600,
    );
    // 2 M requests × $0.2 = $0.40; 4000 s × 0.5 GB = 2000 GB-s × $0.0000166667 = $0.0333334
    expect(estimate.items.map((i) => [i.item, i.quantity])).toEqual([
      ["Lambda requests", 2_000_000],
      ["Lambda GB-seconds", 2000],
    ]);
    expect(estimate.usd).toBeCloseTo(0.4333334, 9);
  });

  it("ECS: average running tasks × window hours × the task-hour price", () => {
    const estimate = estimateCost({ kind: "ecs", averageTasks: 4 }, cost, 2 * 3600);
    expect(estimate.items[0]).toMatchObject({ item: "ECS task-hours", quantity: 8 });
    expect(estimate.usd).toBeCloseTo(0.4, 12);
  });

  it("names the missing price or size", () => {
    expect(() => estimateCost({ kind: "ecs", averageTasks: 1 }, { ...cost, prices: {} }, 60)).toThrow(
      /cost\.prices\.ecsPerTaskHour is needed/,
    );
    expect(() =>
      estimateCost(
        { kind: "lambda", invocations: 1, durationMs: 1 },
        { ...cost, lambdaMemoryMb: undefined },
        60,
      ),
    ).toThrow(/cost\.lambdaMemoryMb is needed/);
  });
});

describe("projection and judgement", () => {
  it("scales the 30-day projection to the window and the new side's weight", () => {
    // 720 USD / 720 h = 1 USD per hour at 100 %.
    expect(projectionForWindow(cost, 3600, 100)).toBeCloseTo(1, 12);
    expect(projectionForWindow(cost, 3600, 10)).toBeCloseTo(0.1, 12);
    expect(projectionForWindow(cost, 72 * 3600, 50)).toBeCloseTo(36, 12);
  });

  it("passes up to projection × (1 + tolerance), fails above", () => {
    const at = (usd: number) => judgeCost({ usd, items: [] }, cost, 3600, 100);
    expect(at(1.25).verdict).toBe("pass");
    expect(at(1.2501).verdict).toBe("fail");
    expect(at(1.2501).reason).toBe("estimated $1.25 > $1.25 (projection $1 for 1 h at 100 %, + 25 %)");
  });

  it("with no traffic on the new side there is no projection to judge against", () => {
    expect(judgeCost({ usd: 0, items: [] }, cost, 3600, 0).verdict).toBe("insufficient-data");
  });
});
