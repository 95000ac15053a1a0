import { describe, expect, it } from "vitest";
import type { GateJudgement } from "../../src/core/gate/evaluate.js";
import type { GatePlan } from "../../src/core/gate/plan.js";
import { withoutIncompleteData } from "../../src/ops/gate.js";

const plan = {
  queries: [
    { kind: "expression", id: "m0_rate", expression: "errors / requests", returnData: true },
    { kind: "expression", id: "m0_p95", expression: "p95", returnData: true },
  ],
} as unknown as GatePlan;

function judgement(verdict: GateJudgement["verdict"]): GateJudgement {
  return { verdict, reasons: [], samples: { new: 5000 }, metrics: [] } as GateJudgement;
}

describe("a gate judged on incomplete data", () => {
  it("is insufficient data whatever the part that came back says, naming the incomplete queries", () => {
    for (const verdict of ["pass", "fail", "rollback"] as const) {
      const judged = withoutIncompleteData(plan, judgement(verdict), new Set(["m0_rate"]));
      expect(judged.verdict).toBe("insufficient-data");
      expect(judged.reasons.join(" ")).toMatch(
        /incomplete data .* for m0_rate: incomplete data is never evidence/,
      );
    }
  });

  it("is left as judged when every query of its plan came back whole", () => {
    expect(withoutIncompleteData(plan, judgement("pass"), new Set(["m1_rate"])).verdict).toBe("pass");
  });
});
