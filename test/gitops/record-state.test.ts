import { describe, expect, it } from "vitest";
import { applyRecord, phaseInLine, type RecordRequest } from "../../src/ops/record-state.js";
import { at, exampleMigration, shiftedAndBaking, stagingPassed } from "./statuses.js";

function request(partial: Partial<RecordRequest> & Pick<RecordRequest, "event">): RecordRequest {
  return {
    outcome: "success",
    outputs: {},
    origin: { runUrl: "https://github.com/example/platform/actions/runs/1" },
    ...partial,
  };
}

const shiftOutputs = {
  weights: '{"old":90,"new":10}',
  "previous-weights": '{"old":100,"new":0}',
  "change-id": "/change/C1",
  "insync-at": "2026-03-01T10:05:00.000Z",
  "gate-window-start": "2026-03-01T10:06:00.000Z",
  checkpoint: JSON.stringify({
    phase: "staging",
    takenAt: "2026-03-01T10:04:00.000Z",
    weights: { old: 100, new: 0 },
    lambdaVersion: "2",
  }),
  "no-op": "false",
};

describe("record-state: shifts", () => {
  it("records apply-started, shift-applied and apply-succeeded, so the phase bakes from the gate window", async () => {
    const migration = await exampleMigration("canary-10");
    const change = applyRecord(
      migration,
      stagingPassed(),
      request({ event: "shifted", phase: "canary-10", outputs: shiftOutputs }),
      at(6),
    );
    expect(change.recorded).toEqual(["apply-started", "shift-applied", "apply-succeeded"]);
    expect(change.status).toMatchObject({
      phase: "canary-10",
      state: "baking",
      weights: { old: 90, new: 10 },
    });
    expect(change.status.timestamps.gateWindowStartsAt).toBe("2026-03-01T10:06:00.000Z");
    // 48 h from the gate window, not from when the record was written.
    expect(change.status.timestamps.bakeEndsAt).toBe("2026-03-03T10:06:00.000Z");
    expect(change.status.checkpoints.at(-1)).toMatchObject({
      phase: "staging",
      weights: { old: 100, new: 0 },
      lambdaVersion: "2",
    });
    expect(change.status.history.at(-2)?.evidence).toMatchObject({ kind: "shift", changeId: "/change/C1" });
  });

  it("records nothing when the same shift is recorded again (a re-run)", async () => {
    const migration = await exampleMigration("canary-10");
    const once = applyRecord(
      migration,
      stagingPassed(),
      request({ event: "shifted", phase: "canary-10", outputs: shiftOutputs }),
      at(6),
    );
    const twice = applyRecord(
      migration,
      once.status,
      request({ event: "shifted", phase: "canary-10", outputs: shiftOutputs }),
      at(7),
    );
    expect(twice.recorded).toEqual([]);
    expect(twice.status).toEqual(once.status);
  });

  it("refuses a shift that skips a phase, quoting the state machine", async () => {
    const migration = await exampleMigration("canary-50");
    expect(() =>
      applyRecord(
        migration,
        stagingPassed(),
        request({ event: "shifted", phase: "canary-50", outputs: shiftOutputs }),
        at(6),
      ),
    ).toThrow(/apply-started was refused by the state machine: "canary-50" would skip "canary-10"/);
  });

  it("names the step output that is not JSON", async () => {
    const migration = await exampleMigration("canary-10");
    expect(() =>
      applyRecord(
        migration,
        stagingPassed(),
        request({ event: "shifted", phase: "canary-10", outputs: { ...shiftOutputs, weights: "{old:90" } }),
        at(6),
      ),
    ).toThrow(/input "step-outputs": output "weights" is not valid JSON/);
  });
});

describe("record-state: gate verdicts and rollbacks", () => {
  it("moves a baking phase to rolling-back on a rollback verdict, then to rolled-back at the checkpoint's weights", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const evidence = {
      kind: "gate",
      gate: "standard",
      verdict: "rollback",
      evaluatedAt: at(10).toISOString(),
    };
    const checked = applyRecord(
      migration,
      baking,
      request({
        event: "gate-checked",
        outputs: { verdict: "rollback", gate: "standard", evidence: JSON.stringify(evidence) },
      }),
      at(10),
    );
    expect(checked.status.state).toBe("rolling-back");
    const rolled = applyRecord(
      migration,
      checked.status,
      request({
        event: "rolled-back",
        reason: "error rate 5 %",
        outputs: { weights: '{"old":100,"new":0}', "change-id": "/change/C2", "lambda-version": "4" },
      }),
      at(11),
    );
    expect(rolled.recorded).toEqual(["rollback-completed"]);
    // The version the alias was pointed back to, for reconcile to compare with AWS.
    expect(rolled.status.history.at(-1)?.evidence).toMatchObject({ kind: "rollback", lambdaVersion: "4" });
    expect(rolled.status).toMatchObject({ state: "rolled-back", weights: { old: 100, new: 0 } });
    expect(phaseInLine(migration, rolled.status)).toBe("staging");
  });

  it("records the gate evidence first when the monitor rolls back a baking phase", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const rolled = applyRecord(
      migration,
      baking,
      request({
        event: "rolled-back",
        reason: "gate breached",
        outputs: { weights: '{"old":100,"new":0}' },
        gateEvidence: { kind: "gate", gate: "standard", verdict: "rollback" },
      }),
      at(30),
    );
    expect(rolled.recorded).toEqual(["gate-evaluated", "rollback-completed"]);
    expect(rolled.status.history.at(-2)).toMatchObject({
      event: "gate-evaluated",
      verdict: "rollback",
      to: "rolling-back",
    });
  });

  it("records the weights AWS reported when they differ from the checkpoint's", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const rolled = applyRecord(
      migration,
      baking,
      request({ event: "rolled-back", reason: "manual", outputs: { weights: '{"old":95,"new":5}' } }),
      at(30),
    );
    expect(rolled.recorded).toEqual(["rollback-started", "rollback-completed", "reconciled"]);
    expect(rolled.status.weights).toEqual({ old: 95, new: 5 });
  });

  it("records a rollback to a phase no checkpoint was taken in at the weights it restored", async () => {
    const migration = await exampleMigration("full");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const status = { ...baking, phase: "full", weights: { old: 0, new: 100 } };
    const rolled = applyRecord(
      migration,
      status,
      request({
        event: "rolled-back",
        reason: "latency",
        targetPhase: "canary-50",
        outputs: { weights: '{"old":50,"new":50}' },
      }),
      at(30),
    );
    expect(rolled.recorded).toEqual(["rollback-started", "rollback-completed"]);
    expect(rolled.status).toMatchObject({ state: "rolled-back", weights: { old: 50, new: 50 } });
    expect(phaseInLine(migration, rolled.status)).toBe("canary-50");
  });

  it("leaves the status rolling-back when the rollback step failed", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
    const failed = applyRecord(
      migration,
      baking,
      request({ event: "rolled-back", outcome: "failure", reason: "manual" }),
      at(30),
    );
    expect(failed.status.state).toBe("rolling-back");
    expect(failed.status.weights).toEqual({ old: 90, new: 10 });
  });

  it("refuses a gate verdict when nothing is baking", async () => {
    const migration = await exampleMigration("canary-10");
    const evidence = JSON.stringify({ kind: "gate", evaluatedAt: at(3).toISOString() });
    expect(() =>
      applyRecord(
        migration,
        stagingPassed(),
        request({ event: "gate-checked", outputs: { verdict: "pass", gate: "standard", evidence } }),
        at(3),
      ),
    ).toThrow(/no bake is in progress \(phase staging is passed\)/);
  });

  it("extends the bake on insufficient data", async () => {
    const migration = await exampleMigration("canary-10");
    const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 0.5);
    const evidence = JSON.stringify({ kind: "gate", evaluatedAt: at(40).toISOString() });
    const extended = applyRecord(
      migration,
      baking,
      request({ event: "extended", outputs: { verdict: "insufficient-data", gate: "standard", evidence } }),
      at(40),
    );
    expect(extended.status.state).toBe("baking");
    expect(extended.status.timestamps.bakeEndsAt).toBe(new Date(at(40).getTime() + 3600_000).toISOString());
  });
});

describe("record-state: deploys, load tests and decommission", () => {
  it("passes staging once its last load test passed, with the deploy and each scenario in the history", async () => {
    const migration = await exampleMigration("staging");
    let status = (await import("../../src/model/status.js")).initialStatus("orders-api", at(0));
    status = applyRecord(
      migration,
      status,
      request({
        event: "deployed",
        phase: "staging",
        outputs: { version: "2", "previous-version": "1", target: "Lambda orders-api:live" },
      }),
      at(1),
    ).status;
    expect(status.state).toBe("applying");
    for (const scenario of ["load-tests/smoke.yml", "load-tests/sustained-100rps.yml"]) {
      status = applyRecord(
        migration,
        status,
        request({
          event: "load-tested",
          phase: "staging",
          step: scenario,
          outputs: { verdict: "pass", reason: "ok" },
        }),
        at(2),
      ).status;
      expect(status.state).toBe("applying");
    }
    status = applyRecord(
      migration,
      status,
      request({
        event: "load-tested",
        phase: "staging",
        step: "load-tests/spike-500rps.yml",
        outputs: { verdict: "pass" },
      }),
      at(3),
    ).status;
    expect(status.state).toBe("passed");
    expect(status.checkpoints).toEqual([]); // the deploy above reported no checkpoint
    expect(status.history.map((entry) => entry.event)).toEqual([
      "apply-started",
      "deployed",
      "load-tested",
      "load-tested",
      "load-tested",
      "apply-succeeded",
    ]);
  });

  it("keeps a deploy's checkpoint (the version it replaced) for a rollback to restore, but not a no-op's", async () => {
    const migration = await exampleMigration("staging");
    const initial = (await import("../../src/model/status.js")).initialStatus("orders-api", at(0));
    const checkpoint = {
      phase: null,
      takenAt: at(1).toISOString(),
      weights: { old: 100, new: 0 },
      lambdaVersion: "1",
    };
    const deployed = applyRecord(
      migration,
      initial,
      request({
        event: "deployed",
        phase: "staging",
        outputs: {
          version: "2",
          "previous-version": "1",
          target: "Lambda orders-api:live",
          "no-op": "false",
          checkpoint: JSON.stringify(checkpoint),
        },
      }),
      at(1),
    ).status;
    // Stamped with the phase's environment: the version means something only in that account.
    expect(deployed.checkpoints).toEqual([{ ...checkpoint, environment: "staging" }]);
    const noOp = applyRecord(
      migration,
      initial,
      request({
        event: "deployed",
        phase: "staging",
        outputs: {
          version: "1",
          target: "Lambda orders-api:live",
          "no-op": "true",
          checkpoint: JSON.stringify(checkpoint),
        },
      }),
      at(1),
    ).status;
    expect(noOp.checkpoints).toEqual([]);
  });

  it("fails the phase when a load test fails", async () => {
    const migration = await exampleMigration("staging");
    const status = (await import("../../src/model/status.js")).initialStatus("orders-api", at(0));
    const change = applyRecord(
      migration,
      status,
      request({
        event: "load-tested",
        phase: "staging",
        outcome: "failure",
        step: "load-tests/smoke.yml",
        outputs: { verdict: "fail", reason: "p95 812 ms > 500 ms" },
      }),
      at(2),
    );
    expect(change.status.state).toBe("failed");
    expect(change.status.history.at(-1)?.reason).toContain("p95 812 ms > 500 ms");
  });

  it("starts the decommission hold when the old side was scaled down", async () => {
    const migration = await exampleMigration("decommission");
    let status = shiftedAndBaking(stagingPassed(), "canary-10", 10, 0);
    status = { ...status };
    const { transitionOrThrow } = await import("../../src/core/transitions.js");
    const order = migration.phases.map((phase) => phase.name);
    for (const [phase, weight] of [
      ["canary-50", 50],
      ["full", 100],
    ] as const) {
      status = transitionOrThrow(status, { type: "apply-started", phase, phaseOrder: order }, at(5));
      status = transitionOrThrow(
        status,
        {
          type: "shift-applied",
          weights: { old: 100 - weight, new: weight },
          checkpoint: { phase, takenAt: at(5).toISOString(), weights: status.weights },
          insyncAt: at(5),
          ttlSeconds: 60,
        },
        at(5),
      );
      status = transitionOrThrow(status, { type: "apply-succeeded", bakeSeconds: 0 }, at(5));
    }
    const change = applyRecord(
      migration,
      status,
      request({
        event: "decommission-started",
        phase: "decommission",
        outputs: { "desired-count-before": "3", "no-op": "false", "hold-started-at": at(58).toISOString() },
      }),
      at(60),
    );
    expect(change.status.state).toBe("decommissioning");
    // The hold counts from when the old side reached zero, as the scale-down reported it, not from the recording.
    expect(change.status.decommission).toMatchObject({
      stage: "scaled-down",
      desiredCountBefore: 3,
      holdStartedAt: at(58).toISOString(),
    });
    // A reported time after the recording (a skewed clock) is not taken: the hold never starts in the future.
    const skewed = applyRecord(
      migration,
      status,
      request({
        event: "decommission-started",
        phase: "decommission",
        outputs: { "desired-count-before": "3", "no-op": "false", "hold-started-at": at(90).toISOString() },
      }),
      at(60),
    );
    expect(skewed.status.decommission?.holdStartedAt).toBe(at(60).toISOString());

    // A default rollback of the scaled-down old side sends everything back to it, and the history says so.
    const rolled = applyRecord(
      migration,
      change.status,
      request({
        event: "rolled-back",
        reason: "new side errors",
        outputs: { weights: '{"old":100,"new":0}' },
      }),
      at(61),
    );
    expect(rolled.recorded).toEqual(["rollback-started", "rollback-completed"]);
    expect(rolled.status).toMatchObject({ state: "rolled-back", weights: { old: 100, new: 0 } });
    expect(rolled.status.decommission).toBeUndefined();
    expect(rolled.status.history.at(-1)?.reason).toBe("sent all traffic to the old side");
  });
});
