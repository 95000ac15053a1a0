import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/core/planner.js";
import { transitionOrThrow } from "../../src/core/transitions.js";
import { initialStatus, type MigrationStatus } from "../../src/model/status.js";
import { applyDriftRule } from "../../src/ops/plan.js";
import { at, exampleMigration, stagingPassed } from "./statuses.js";

async function planFor(status: MigrationStatus, override?: { reason: string }) {
  const base = await exampleMigration("staging");
  const head = { ...(await exampleMigration("canary-10")), ...(override ? { override } : {}) };
  const statuses = new Map([["orders-api", status]]);
  const plan = buildPlan({
    head: { version: 1, migrations: [head] },
    base: { version: 1, migrations: [base] },
    statuses,
    now: at(5),
    specFile: "migrations.json",
    initial: (id) => initialStatus(id, at(0)),
  });
  return applyDriftRule(plan, statuses, { version: 1, migrations: [head] });
}

describe("plan: drift blocks promotion", () => {
  it("allows staging → canary-10 once staging passed", async () => {
    const plan = await planFor(stagingPassed());
    expect(plan.ok).toBe(true);
  });

  it("refuses the same promotion while drift is unsettled, and an override lets it through", async () => {
    const drifted = transitionOrThrow(
      stagingPassed(),
      { type: "drift-detected", observed: { old: 80, new: 20 }, detail: "console edit" },
      at(2),
    );
    const refused = await planFor(drifted);
    expect(refused.ok).toBe(false);
    expect(refused.migrations[0]?.decision.reason).toMatch(
      /drift made outside cutover was recorded .* \(console edit\)/,
    );
    expect(refused.migrations[0]?.steps).toEqual([]);
    const overridden = await planFor(drifted, { reason: "weights set by hand during an incident, accepted" });
    expect(overridden.ok).toBe(true);
    expect(overridden.migrations[0]?.decision.reason).toContain(
      "accepted by the override: weights set by hand",
    );
  });
});
