import { describe, expect, it } from "vitest";
import { transitionOrThrow } from "../../src/core/transitions.js";
import { validateStatusText } from "../../src/core/validate.js";
import type { AwsJournalEntry } from "../../src/model/aws-checkpoint.js";
import type { MigrationStatus, Weights } from "../../src/model/status.js";
import {
  driftHandling,
  type ObservedAws,
  planReconcile,
  simulate,
  unresolvedDrift,
} from "../../src/ops/reconcile.js";
import { formatStatus } from "../../src/spec/files.js";
import { at, exampleMigration, shiftedAndBaking, stagingPassed } from "./statuses.js";

function observed(weights: Weights, extra: Partial<ObservedAws> = {}): ObservedAws {
  return {
    weights,
    cacheSeconds: 60,
    old: { ecsDesiredCount: 3 },
    new: { lambdaVersion: "2" },
    routerLabel: "Route 53 zone Z1 record api.example.com A",
    ...extra,
  };
}

function applied(
  status: MigrationStatus,
  plan: ReturnType<typeof planReconcile>,
  now = at(20),
): MigrationStatus {
  const result = simulate(status, plan.events, now);
  if (!result.ok) throw new Error(result.refusal);
  return result.status;
}

describe("reconcile", () => {
  it("records nothing when AWS agrees with the status", async () => {
    const plan = planReconcile(
      await exampleMigration("staging"),
      stagingPassed(),
      observed({ old: 100, new: 0 }),
      "fail",
      at(20),
      {},
    );
    expect(plan.outcome).toBe("in-sync");
    expect(plan.events).toEqual([]);
  });

  it("records a shift that was applied but never committed, and the phase bakes", async () => {
    const migration = await exampleMigration("canary-10");
    const status = stagingPassed();
    const plan = planReconcile(migration, status, observed({ old: 90, new: 10 }), "fail", at(20), {
      runUrl: "https://run/2",
    });
    expect(plan.outcome).toBe("recorded");
    expect(plan.events.map((event) => event.type)).toEqual([
      "apply-started",
      "reconciled",
      "apply-succeeded",
    ]);
    const after = applied(status, plan);
    expect(after).toMatchObject({ phase: "canary-10", state: "baking", weights: { old: 90, new: 10 } });
    // What a rollback restores is what the status held before the unrecorded shift.
    expect(after.checkpoints.at(-1)).toMatchObject({ phase: "staging", weights: { old: 100, new: 0 } });
    // The gate window starts a cache time after the shift was found, never earlier.
    expect(after.timestamps.gateWindowStartsAt).toBe(new Date(at(20).getTime() + 60_000).toISOString());
    // Reconciling again finds nothing more to record.
    expect(planReconcile(migration, after, observed({ old: 90, new: 10 }), "fail", at(21), {}).outcome).toBe(
      "in-sync",
    );
  });

  it("records a rollback to the last checkpoint that was applied but never committed", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const plan = planReconcile(migration, baking, observed({ old: 100, new: 0 }), "fail", at(20), {});
    expect(plan.events.map((event) => event.type)).toEqual(["rollback-started", "rollback-completed"]);
    expect(applied(baking, plan)).toMatchObject({ state: "rolled-back", weights: { old: 100, new: 0 } });
  });

  it("recognises a rollback to all-old or to a named phase's checkpoint that was applied but never recorded", async () => {
    const migration = await exampleMigration("canary-50");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const checkpoint = (phase: string, fresh: number) => ({
      phase,
      takenAt: at(5).toISOString(),
      weights: { old: 100 - fresh, new: fresh },
    });
    const status: MigrationStatus = {
      ...baking,
      phase: "full",
      weights: { old: 0, new: 100 },
      checkpoints: [checkpoint("canary-10", 10), checkpoint("canary-50", 50)],
    };
    const allOld = planReconcile(migration, status, observed({ old: 100, new: 0 }), "fail", at(20), {});
    expect(allOld.outcome).toBe("recorded");
    expect(allOld.events.map((event) => event.type)).toEqual(["rollback-started", "rollback-completed"]);
    expect(allOld.events[1]).toMatchObject({ target: { kind: "all-old" } });
    expect(applied(status, allOld)).toMatchObject({ state: "rolled-back", weights: { old: 100, new: 0 } });
    const toPhase = planReconcile(migration, status, observed({ old: 90, new: 10 }), "fail", at(20), {});
    expect(toPhase.outcome).toBe("recorded");
    expect(toPhase.events[1]).toMatchObject({ target: { kind: "phase", phase: "canary-10" } });
    expect(applied(status, toPhase)).toMatchObject({ state: "rolled-back", weights: { old: 90, new: 10 } });
    // A weight no change of cutover's leaves is still drift.
    expect(planReconcile(migration, status, observed({ old: 63, new: 37 }), "fail", at(20), {}).outcome).toBe(
      "drift",
    );
  });

  it("recognises a rollback to a phase no checkpoint was taken in, at the weights its shifts leave by the spec", async () => {
    const migration = await exampleMigration("full");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    // At full, with no checkpoint taken in canary-50: a rollback to it restores the spec's 50 %.
    const status: MigrationStatus = {
      ...baking,
      phase: "full",
      weights: { old: 0, new: 100 },
      checkpoints: [{ phase: "canary-10", takenAt: at(5).toISOString(), weights: { old: 90, new: 10 } }],
    };
    const plan = planReconcile(migration, status, observed({ old: 50, new: 50 }), "fail", at(20), {});
    expect(plan.outcome).toBe("recorded");
    expect(plan.events[1]).toMatchObject({
      type: "rollback-completed",
      target: { kind: "phase-weights", phase: "canary-50", weights: { old: 50, new: 50 } },
    });
    const after = applied(status, plan);
    expect(after).toMatchObject({ state: "rolled-back", weights: { old: 50, new: 50 } });
    expect(after.history.at(-1)?.reason).toMatch(/restored phase canary-50 as the spec defines it/);
    // The recorded status is a valid status file.
    expect(validateStatusText(formatStatus(after), "status/orders-api.json").ok).toBe(true);
  });

  it("recognises a rollback's scale-up of the held-down old side, killed before it moved weight", async () => {
    const migration = await exampleMigration("decommission");
    let status = transitionOrThrow(
      { ...stagingPassed(), phase: "full", state: "passed", weights: { old: 0, new: 100 } },
      { type: "apply-started", phase: "decommission", phaseOrder: migration.phases.map((p) => p.name) },
      at(2),
    );
    status = transitionOrThrow(status, { type: "decommission-scaled-down", desiredCountBefore: 3 }, at(3));
    const plan = planReconcile(
      migration,
      status,
      observed({ old: 0, new: 100 }, { old: { ecsDesiredCount: 3 } }),
      "fail",
      at(20),
      {},
    );
    expect(plan.outcome).toBe("recorded");
    expect(plan.events.map((event) => event.type)).toEqual(["rollback-started"]);
    const after = applied(status, plan);
    expect(after.state).toBe("rolling-back");
    expect(validateStatusText(formatStatus(after), "status/orders-api.json", "orders-api").errors).toEqual(
      [],
    );
    // Any other count is still a change made outside cutover.
    expect(
      planReconcile(
        migration,
        status,
        observed({ old: 0, new: 100 }, { old: { ecsDesiredCount: 7 } }),
        "fail",
        at(20),
        {},
      ).outcome,
    ).toBe("drift");
  });

  it("records drift made outside cutover once, and keeps reporting it until AWS agrees again", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const plan = planReconcile(migration, baking, observed({ old: 70, new: 30 }), "fail", at(20), {});
    expect(plan.outcome).toBe("drift");
    expect(plan.drift).toMatch(/sends old 70 % \/ new 30 % but the status records old 90 % \/ new 10 %/);
    expect(plan.events.map((event) => event.type)).toEqual(["drift-detected"]);
    const drifted = applied(baking, plan);
    expect(drifted.weights).toEqual({ old: 90, new: 10 }); // reported, not adopted
    expect(unresolvedDrift(drifted)?.event).toBe("drift-detected");

    const again = planReconcile(migration, drifted, observed({ old: 70, new: 30 }), "fail", at(21), {});
    expect(again.outcome).toBe("drift");
    expect(again.events).toEqual([]);

    const settled = planReconcile(migration, drifted, observed({ old: 90, new: 10 }), "fail", at(22), {});
    expect(settled.outcome).toBe("recorded");
    expect(settled.events.map((event) => event.type)).toEqual(["reconciled"]);
    expect(unresolvedDrift(applied(drifted, settled, at(22)))).toBeUndefined();
  });

  it("fails on drift unless the spec carries an override with a reason, and only warns when asked to", async () => {
    const migration = await exampleMigration("canary-10");
    expect(driftHandling(migration, stagingPassed(), "fail", "weights moved")).toEqual({
      fail: true,
      message: "weights moved",
    });
    expect(driftHandling(migration, stagingPassed(), "warn", "weights moved")).toEqual({
      fail: false,
      message: "weights moved",
    });
    const blank = { ...migration, override: { reason: "  " } };
    expect(driftHandling(blank, stagingPassed(), "fail", "weights moved").fail).toBe(true);
    const overridden = { ...migration, override: { reason: "console change agreed in incident 7" } };
    expect(driftHandling(overridden, stagingPassed(), "fail", "weights moved")).toEqual({
      fail: false,
      message:
        "weights moved; going on because migrations.json overrides it: console change agreed in incident 7",
    });
  });

  it("an override already used for an earlier change does not let new drift through; starting the phase with a fresh one settles it", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const reason = "console change agreed in incident 7";
    const used = structuredClone(baking);
    used.history.push({
      at: at(5).toISOString(),
      event: "apply-started",
      phase: "canary-10",
      from: "passed",
      to: "applying",
      evidence: { kind: "override", reason, bypassed: "an earlier refusal" },
    });
    const leftover = driftHandling({ ...migration, override: { reason } }, used, "fail", "weights moved");
    expect(leftover.fail).toBe(true);
    expect(leftover.message).toContain("was already used for an earlier change");

    // A fresh override over unsettled drift is recorded when the next phase starts, and that settles the drift.
    const passed = transitionOrThrow(
      baking,
      { type: "gate-evaluated", gate: "standard", verdict: "pass", evidence: { kind: "gate" } },
      at(3000),
    );
    expect(passed.state).toBe("passed");
    const drifted = transitionOrThrow(
      passed,
      { type: "drift-detected", observed: { old: 70, new: 30 }, detail: "console edit" },
      at(3001),
    );
    expect(unresolvedDrift(drifted)).toBeDefined();
    const order = migration.phases.map((phase) => phase.name);
    const plain = transitionOrThrow(
      drifted,
      { type: "apply-started", phase: "canary-50", phaseOrder: order },
      at(3002),
    );
    expect(unresolvedDrift(plain)).toBeDefined();
    const fresh = transitionOrThrow(
      drifted,
      {
        type: "apply-started",
        phase: "canary-50",
        phaseOrder: order,
        override: { reason: "incident 8: keep going" },
      },
      at(3002),
    );
    expect(fresh.history.at(-1)?.evidence).toMatchObject({
      kind: "override",
      reason: "incident 8: keep going",
    });
    expect(unresolvedDrift(fresh)).toBeUndefined();
  });

  it("adopts what AWS holds when a person asks for it", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const plan = planReconcile(migration, baking, observed({ old: 70, new: 30 }), "adopt", at(20), {
      actor: "octocat",
    });
    const after = applied(baking, plan);
    expect(after.weights).toEqual({ old: 70, new: 30 });
    expect(after.history.at(-1)?.reason).toMatch(/^drift adopted by octocat/);
  });

  it("reports an old side scaled to zero while it carries traffic, and an alias moved away from the deployed version", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    baking.history.push({
      at: at(0).toISOString(),
      event: "deployed",
      phase: "canary-10",
      from: "applying",
      to: "applying",
      evidence: { kind: "deploy", version: "2" },
    });
    const plan = planReconcile(
      migration,
      baking,
      observed({ old: 90, new: 10 }, { old: { ecsDesiredCount: 0 }, new: { lambdaVersion: "7" } }),
      "warn",
      at(20),
      {},
    );
    expect(plan.outcome).toBe("drift");
    expect(plan.drift).toContain("is scaled to zero while the status sends it 90 % of traffic");
    expect(plan.drift).toContain(
      "points at version 7, but the last recorded deploy or rollback left version 2",
    );
  });

  it("compares the alias only with what was deployed in the same environment (each is its own account)", async () => {
    const migration = await exampleMigration("canary-10");
    const status = stagingPassed();
    // staging published version 5 in the staging account; production's alias is still at its version 1.
    status.history.push({
      at: at(0).toISOString(),
      event: "deployed",
      phase: "staging",
      from: "applying",
      to: "applying",
      evidence: { kind: "deploy", version: "5" },
    });
    const production = observed({ old: 100, new: 0 }, { new: { lambdaVersion: "1" } });
    expect(planReconcile(migration, status, production, "fail", at(20), {}).outcome).toBe("in-sync");
  });

  it("takes the version a recorded rollback pointed the alias back to as the recorded one", async () => {
    const migration = await exampleMigration("canary-10");
    const status = stagingPassed();
    const entry = (event: string, evidence: { kind: "deploy" | "rollback"; [key: string]: unknown }) => ({
      at: at(0).toISOString(),
      event,
      phase: "canary-10",
      from: "applying" as const,
      to: "applying" as const,
      evidence,
    });
    status.history.push(entry("deployed", { kind: "deploy", version: "2" }));
    status.history.push(entry("rollback-completed", { kind: "rollback", lambdaVersion: "1" }));
    const back = observed({ old: 100, new: 0 }, { new: { lambdaVersion: "1" } });
    expect(planReconcile(migration, status, back, "fail", at(20), {}).outcome).toBe("in-sync");
    const moved = observed({ old: 100, new: 0 }, { new: { lambdaVersion: "2" } });
    expect(planReconcile(migration, status, moved, "fail", at(20), {}).drift).toContain(
      "points at version 2, but the last recorded deploy or rollback left version 1",
    );
  });
});

describe("reconcile after a rollback made outside the workflows", () => {
  const entry = (overrides: Partial<AwsJournalEntry> = {}): AwsJournalEntry => ({
    format: "cutover.aws-journal/1",
    id: "alarm-20260302T100000-abc",
    migration: "orders-api",
    by: "guardian",
    at: at(3).toISOString(),
    trigger: {
      kind: "alarm",
      alarm: {
        name: "cutover-production-orders-api-standard-error-rate-rollback-max",
        state: "ALARM",
        reason: "Threshold Crossed",
        timestamp: at(3).toISOString(),
      },
      reason: "rollback alarm error-rate: Threshold Crossed",
    },
    outcome: "rolled-back",
    before: { old: 90, new: 10 },
    after: { old: 100, new: 0 },
    changeId: "C42",
    target: "last-checkpoint",
    ...overrides,
  });

  it("records the guardian's rollback with its evidence, not as drift, and only once", async () => {
    const migration = await exampleMigration("canary-10");
    const status = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const plan = planReconcile(
      migration,
      status,
      observed({ old: 100, new: 0 }, { journal: [entry()] }),
      "fail",
      at(4),
      {},
    );
    expect(plan.outcome).toBe("recorded");
    expect(plan.events.map((event) => event.type)).toEqual(["rollback-started", "rollback-completed"]);
    const after = applied(status, plan, at(4));
    expect(after.state).toBe("rolled-back");
    expect(after.weights).toEqual({ old: 100, new: 0 });
    const recorded = after.history.at(-1)!;
    expect(recorded.evidence).toMatchObject({
      kind: "rollback",
      by: "guardian",
      journalEntry: entry().id,
      changeId: "C42",
    });
    // The next reconcile finds the entry recorded: AWS agrees, nothing more.
    const again = planReconcile(
      migration,
      after,
      observed({ old: 100, new: 0 }, { journal: [entry()] }),
      "fail",
      at(5),
      {},
    );
    expect(again.outcome).toBe("in-sync");
  });

  it("does not take a journal entry whose weights AWS no longer holds as the explanation", async () => {
    const migration = await exampleMigration("canary-10");
    const status = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const plan = planReconcile(
      migration,
      status,
      observed({ old: 50, new: 50 }, { journal: [entry()] }),
      "fail",
      at(4),
      {},
    );
    expect(plan.outcome).toBe("drift");
  });
});
