import { describe, expect, it } from "vitest";
import { transitionOrThrow } from "../../src/core/transitions.js";
import { decide } from "../../src/ops/monitor.js";
import { at, exampleMigration, shiftedAndBaking, stagingPassed } from "./statuses.js";

describe("monitor decisions", () => {
  it("rolls back at once on a rollback verdict", async () => {
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const verdict = decide(
      await exampleMigration(),
      baking,
      { verdict: "rollback", bakeComplete: false, reason: "error-rate 0.05 > 0.02" },
      at(30),
    );
    expect(verdict).toMatchObject({ decision: "rollback", event: "rolled-back" });
    expect(verdict.reason).toContain("error-rate 0.05 > 0.02");
  });

  it("keeps baking on a pass before the bake is over, and records passed with the next phase once it is", async () => {
    const migration = await exampleMigration();
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    expect(decide(migration, baking, { verdict: "pass", bakeComplete: false }, at(30))).toMatchObject({
      decision: "bake",
      event: "gate-checked",
    });
    expect(decide(migration, baking, { verdict: "pass", bakeComplete: true }, at(3000))).toMatchObject({
      decision: "passed",
      event: "passed",
      nextPhase: "canary-50",
    });
  });

  it("extends on insufficient data and keeps baking on fail", async () => {
    const migration = await exampleMigration();
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    expect(
      decide(migration, baking, { verdict: "insufficient-data", bakeComplete: false }, at(30)).decision,
    ).toBe("extend");
    expect(decide(migration, baking, { verdict: "fail", bakeComplete: true }, at(3000)).decision).toBe(
      "bake",
    );
  });

  it("does not pass a phase while drift made outside cutover is unsettled", async () => {
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const drifted = transitionOrThrow(
      baking,
      { type: "drift-detected", observed: { old: 60, new: 40 }, detail: "console edit" },
      at(40),
    );
    const verdict = decide(
      await exampleMigration(),
      drifted,
      { verdict: "pass", bakeComplete: true },
      at(3000),
    );
    expect(verdict.decision).toBe("bake");
    expect(verdict.event).toBe("");
    expect(verdict.reason).toContain("blocks promotion until a person decides");
  });

  it("holds a scaled-down old side until the hold is over, then deletes it", async () => {
    const migration = await exampleMigration("decommission");
    const status = {
      ...stagingPassed(),
      phase: "decommission",
      state: "decommissioning" as const,
      weights: { old: 0, new: 100 },
      decommission: {
        stage: "scaled-down" as const,
        holdStartedAt: at(0).toISOString(),
        desiredCountBefore: 3,
      },
    };
    expect(decide(migration, status, { bakeComplete: false }, at(60))).toMatchObject({
      decision: "hold",
      event: "",
    });
    expect(decide(migration, status, { bakeComplete: false }, at(48 * 60))).toMatchObject({
      decision: "delete",
      event: "decommissioned",
    });
  });

  it("refuses a baking migration without a verdict, naming the input", async () => {
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const migration = await exampleMigration();
    expect(() => decide(migration, baking, { bakeComplete: false }, at(30))).toThrow(/input "verdict"/);
  });
});
