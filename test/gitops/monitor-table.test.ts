// The monitor's decision over every state × verdict, and the invariant that
// live traffic on the new side is never left unwatched on a breach.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PHASE_STATES, type PhaseState, type Verdict } from "../../src/model/status.js";
import { decide, type MonitorDecision } from "../../src/ops/monitor.js";
import { at, exampleMigration, shiftedAndBaking, stagingPassed } from "./statuses.js";

const VERDICTS: (Verdict | undefined)[] = ["pass", "fail", "rollback", "insufficient-data", undefined];

function statusIn(state: PhaseState, weight: number) {
  const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
  return { ...baking, state, weights: { old: 100 - weight, new: weight } };
}

/**
 * Expected decision at 10 % on the new side, bake not complete: a rollback
 * verdict rolls back in every state but done; other verdicts only act while baking.
 */
const TABLE: Record<PhaseState, Record<string, MonitorDecision | "throws">> = {
  pending: { pass: "none", fail: "none", rollback: "rollback", "insufficient-data": "none", none: "none" },
  applying: { pass: "none", fail: "none", rollback: "rollback", "insufficient-data": "none", none: "none" },
  baking: { pass: "bake", fail: "bake", rollback: "rollback", "insufficient-data": "extend", none: "throws" },
  passed: { pass: "none", fail: "none", rollback: "rollback", "insufficient-data": "none", none: "none" },
  failed: { pass: "none", fail: "none", rollback: "rollback", "insufficient-data": "none", none: "none" },
  "rolling-back": {
    pass: "none",
    fail: "none",
    rollback: "rollback",
    "insufficient-data": "none",
    none: "none",
  },
  "rolled-back": {
    pass: "none",
    fail: "none",
    rollback: "rollback",
    "insufficient-data": "none",
    none: "none",
  },
  // No hold recorded in this status: nothing to delete, but a breach still rolls back.
  decommissioning: {
    pass: "none",
    fail: "none",
    rollback: "rollback",
    "insufficient-data": "none",
    none: "none",
  },
  // The old side is deleted: there is nothing left to roll back to.
  done: { pass: "none", fail: "none", rollback: "none", "insufficient-data": "none", none: "none" },
};

describe("monitor decision table", () => {
  it("covers every state and verdict", async () => {
    const migration = await exampleMigration();
    expect(Object.keys(TABLE).sort()).toEqual([...PHASE_STATES].sort());
    for (const state of PHASE_STATES) {
      for (const verdict of VERDICTS) {
        const expected = TABLE[state][verdict ?? "none"];
        const look = () => decide(migration, statusIn(state, 10), { verdict, bakeComplete: false }, at(30));
        if (expected === "throws") expect(look, `${state} × ${verdict}`).toThrow(/input "verdict"/);
        else expect(look().decision, `${state} × ${verdict}`).toBe(expected);
      }
    }
  });

  it("rolls back a passed full phase on an alarm's rollback verdict, recording the rollback", async () => {
    const verdict = decide(
      await exampleMigration("full"),
      statusIn("passed", 100),
      { verdict: "rollback", bakeComplete: false, reason: "p95 1400 ms > 1000 ms" },
      at(30),
    );
    expect(verdict).toMatchObject({ decision: "rollback", event: "rolled-back" });
    expect(verdict.reason).toContain("p95 1400 ms > 1000 ms");
  });

  it("rolls back any state with new-side weight above 0 on a rollback verdict (property)", async () => {
    const migration = await exampleMigration();
    fc.assert(
      fc.property(
        fc.constantFrom(...PHASE_STATES.filter((state) => state !== "done")),
        fc.integer({ min: 1, max: 100 }),
        fc.boolean(),
        (state, weight, bakeComplete) => {
          const verdict = decide(
            migration,
            statusIn(state, weight),
            { verdict: "rollback", bakeComplete },
            at(30),
          );
          expect(verdict.decision).toBe("rollback");
          expect(verdict.event).toBe("rolled-back");
        },
      ),
    );
  });

  it("never rolls back on a verdict other than rollback, nor with nothing on the new side outside a bake (property)", async () => {
    const migration = await exampleMigration();
    fc.assert(
      fc.property(
        fc.constantFrom(...PHASE_STATES),
        fc.integer({ min: 0, max: 100 }),
        fc.constantFrom(...VERDICTS),
        (state, weight, gateVerdict) => {
          fc.pre(gateVerdict !== undefined || state !== "baking");
          const decision = decide(
            migration,
            statusIn(state, weight),
            { verdict: gateVerdict, bakeComplete: false },
            at(30),
          ).decision;
          if (gateVerdict !== "rollback" || (weight === 0 && state !== "baking"))
            expect(decision).not.toBe("rollback");
        },
      ),
    );
  });
});
