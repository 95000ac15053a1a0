import { describe, expect, it } from "vitest";
import { type MigrationEvent, transition, transitionOrThrow } from "../../src/core/transitions.js";
import {
  type Checkpoint,
  initialStatus,
  type MigrationStatus,
  type Weights,
} from "../../src/model/status.js";

const ORDER = ["staging", "canary-10", "canary-50", "full", "decommission"] as const;
const T0 = new Date("2026-03-01T00:00:00.000Z");
const at = (hours: number) => new Date(T0.getTime() + hours * 3_600_000);

function checkpoint(status: MigrationStatus, when: Date): Checkpoint {
  return { phase: status.phase, takenAt: when.toISOString(), weights: { ...status.weights } };
}

function apply(status: MigrationStatus, event: MigrationEvent, now: Date): MigrationStatus {
  return transitionOrThrow(status, event, now);
}

function weights(newWeight: number): Weights {
  return { old: 100 - newWeight, new: newWeight };
}

/** Applies a phase with a shift to `weight` and a bake of `bakeHours`, and lets its gate pass after the bake. */
function runPhase(
  status: MigrationStatus,
  phase: string,
  weight: number | undefined,
  bakeHours: number,
  start: number,
) {
  let next = apply(status, { type: "apply-started", phase, phaseOrder: ORDER }, at(start));
  if (weight !== undefined) {
    next = apply(
      next,
      {
        type: "shift-applied",
        weights: weights(weight),
        checkpoint: checkpoint(next, at(start)),
        insyncAt: at(start),
        ttlSeconds: 60,
      },
      at(start),
    );
  }
  next = apply(next, { type: "apply-succeeded", bakeSeconds: bakeHours * 3600 }, at(start));
  if (bakeHours > 0) {
    next = apply(
      next,
      { type: "gate-evaluated", gate: "standard", verdict: "pass", evidence: { kind: "gate" } },
      at(start + bakeHours + 1),
    );
  }
  return next;
}

describe("phase lifecycle", () => {
  it("runs the reference plan from pending to done, one history entry per event", () => {
    let status = initialStatus("orders-api", T0);
    status = runPhase(status, "staging", undefined, 0, 0);
    expect(status.state).toBe("passed");
    status = runPhase(status, "canary-10", 10, 48, 1);
    expect(status).toMatchObject({ phase: "canary-10", state: "passed", weights: { old: 90, new: 10 } });
    status = runPhase(status, "canary-50", 50, 72, 60);
    status = runPhase(status, "full", 100, 168, 140);
    status = apply(status, { type: "apply-started", phase: "decommission", phaseOrder: ORDER }, at(400));
    status = apply(status, { type: "decommission-scaled-down", desiredCountBefore: 4 }, at(401));
    expect(status.decommission).toEqual({
      stage: "scaled-down",
      holdStartedAt: at(401).toISOString(),
      desiredCountBefore: 4,
    });
    const early = transition(
      status,
      { type: "decommission-deleted", holdSeconds: 48 * 3600, oldSideRequestsDuringHold: 0 },
      at(420),
    );
    expect(early).toEqual({ ok: false, refusal: expect.stringContaining("the hold lasts until") });
    status = apply(
      status,
      { type: "decommission-deleted", holdSeconds: 48 * 3600, oldSideRequestsDuringHold: 0 },
      at(449),
    );
    expect(status.state).toBe("done");
    expect(status.history.map((entry) => entry.event)).toHaveLength(2 + 4 * 3 + 3);
    expect(status.history.at(-1)).toMatchObject({
      event: "decommission-deleted",
      from: "decommissioning",
      to: "done",
    });
  });

  it("starts the bake at INSYNC + TTL of the phase's shift", () => {
    let status = apply(
      initialStatus("m", T0),
      { type: "apply-started", phase: "staging", phaseOrder: ORDER },
      at(0),
    );
    status = apply(
      status,
      {
        type: "shift-applied",
        weights: weights(10),
        checkpoint: checkpoint(status, at(0)),
        insyncAt: at(1),
        ttlSeconds: 300,
      },
      at(1),
    );
    expect(status.timestamps.gateWindowStartsAt).toBe("2026-03-01T01:05:00.000Z");
    status = apply(status, { type: "apply-succeeded", bakeSeconds: 3600 }, at(1));
    expect(status.timestamps.bakeEndsAt).toBe("2026-03-01T02:05:00.000Z");
  });

  it("does not mutate the status it is given", () => {
    const status = initialStatus("m", T0);
    const copy = structuredClone(status);
    apply(status, { type: "apply-started", phase: "staging", phaseOrder: ORDER }, at(1));
    expect(status).toEqual(copy);
  });
});

describe("gate verdicts during a bake", () => {
  const baking = () => {
    let status = runPhase(initialStatus("m", T0), "staging", undefined, 0, 0);
    status = apply(status, { type: "apply-started", phase: "canary-10", phaseOrder: ORDER }, at(1));
    status = apply(
      status,
      {
        type: "shift-applied",
        weights: weights(10),
        checkpoint: checkpoint(status, at(1)),
        insyncAt: at(1),
        ttlSeconds: 0,
      },
      at(1),
    );
    return apply(status, { type: "apply-succeeded", bakeSeconds: 48 * 3600 }, at(1));
  };
  const gate = (verdict: "pass" | "fail" | "rollback" | "insufficient-data") =>
    ({ type: "gate-evaluated", gate: "standard", verdict, evidence: { kind: "gate", samples: 10 } }) as const;

  it("a pass before the bake is over keeps baking and records the verdict", () => {
    const status = apply(baking(), gate("pass"), at(10));
    expect(status.state).toBe("baking");
    expect(status.lastVerdict).toEqual({ verdict: "pass", at: at(10).toISOString(), gate: "standard" });
    expect(status.history.at(-1)).toMatchObject({ verdict: "pass", evidence: { kind: "gate", samples: 10 } });
  });

  it("a fail keeps baking even after the bake's end: it does not complete", () => {
    const status = apply(baking(), gate("fail"), at(60));
    expect(status.state).toBe("baking");
    expect(status.history.at(-1)?.reason).toContain("cannot complete");
  });

  it("insufficient data extends the bake instead of passing", () => {
    const before = baking();
    expect(before.timestamps.bakeEndsAt).toBe(at(49).toISOString());
    const status = apply(before, gate("insufficient-data"), at(49.5));
    expect(status.state).toBe("baking");
    expect(status.timestamps.bakeEndsAt).toBe(at(50.5).toISOString());
    const early = apply(before, gate("insufficient-data"), at(2));
    expect(early.timestamps.bakeEndsAt).toBe(before.timestamps.bakeEndsAt);
    // Less than the extension before the end: still not extended, the end look decides.
    const late = apply(before, gate("insufficient-data"), at(48.9));
    expect(late.timestamps.bakeEndsAt).toBe(before.timestamps.bakeEndsAt);
    expect(late.history.at(-1)?.reason).toContain("so far");
  });

  it("a rollback verdict starts rolling back, and completion restores the last checkpoint", () => {
    let status = apply(baking(), gate("rollback"), at(5));
    expect(status.state).toBe("rolling-back");
    status = apply(status, { type: "rollback-completed" }, at(5.01));
    expect(status).toMatchObject({ state: "rolled-back", weights: { old: 100, new: 0 } });
    expect(status.timestamps.bakeEndsAt).toBeUndefined();
  });

  it("refuses a verdict when nothing bakes", () => {
    const result = transition(initialStatus("m", T0), gate("pass"), at(1));
    expect(result).toEqual({ ok: false, refusal: "no bake is in progress; nothing applied (pending)" });
  });
});

describe("refusals say why", () => {
  it("skipping a phase names the phases skipped", () => {
    const status = runPhase(initialStatus("m", T0), "staging", undefined, 0, 0);
    const result = transition(status, { type: "apply-started", phase: "full", phaseOrder: ORDER }, at(1));
    expect(result).toEqual({
      ok: false,
      refusal: '"full" would skip "canary-10", "canary-50"; phases are applied one at a time',
    });
  });

  it("the first phase comes first", () => {
    const result = transition(
      initialStatus("m", T0),
      { type: "apply-started", phase: "canary-10", phaseOrder: ORDER },
      at(1),
    );
    expect(result.ok).toBe(false);
  });

  it("a baking phase must pass before the next starts", () => {
    let status = apply(
      initialStatus("m", T0),
      { type: "apply-started", phase: "staging", phaseOrder: ORDER },
      at(0),
    );
    status = apply(status, { type: "apply-succeeded", bakeSeconds: 60 }, at(0));
    const result = transition(
      status,
      { type: "apply-started", phase: "canary-10", phaseOrder: ORDER },
      at(1),
    );
    expect(result).toEqual({ ok: false, refusal: expect.stringContaining('phase "staging" is baking') });
  });

  it("an override lets a refused move through and records it", () => {
    const status = runPhase(initialStatus("m", T0), "staging", undefined, 0, 0);
    const result = transition(
      status,
      {
        type: "apply-started",
        phase: "canary-50",
        phaseOrder: ORDER,
        override: { reason: "incident 7", requestedBy: "oncall" },
        actor: "alice",
      },
      at(1),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.entry).toMatchObject({
      event: "apply-started",
      actor: "alice",
      reason: "override: incident 7",
      evidence: {
        kind: "override",
        requestedBy: "oncall",
        bypassed: expect.stringContaining('skip "canary-10"'),
      },
    });
  });

  it("an override never interrupts a rollback in progress", () => {
    let status = runPhase(initialStatus("m", T0), "staging", undefined, 0, 0);
    status = apply(status, { type: "rollback-started", reason: "manual" }, at(1));
    const result = transition(
      status,
      { type: "apply-started", phase: "canary-10", phaseOrder: ORDER, override: { reason: "go" } },
      at(2),
    );
    expect(result.ok).toBe(false);
  });

  it("weights must be integers summing to 100", () => {
    const status = apply(
      initialStatus("m", T0),
      { type: "apply-started", phase: "staging", phaseOrder: ORDER },
      at(0),
    );
    const result = transition(
      status,
      {
        type: "shift-applied",
        weights: { old: 50, new: 60 },
        checkpoint: checkpoint(status, at(0)),
        insyncAt: at(0),
        ttlSeconds: 0,
      },
      at(0),
    );
    expect(result).toEqual({ ok: false, refusal: "weights old 50 + new 60 do not sum to 100" });
  });

  it("the old side is not deleted while it served traffic during the hold", () => {
    let status = runPhase(initialStatus("m", T0), "staging", undefined, 0, 0);
    status = { ...status, weights: weights(100) };
    status = apply(status, { type: "apply-started", phase: "canary-10", phaseOrder: ORDER }, at(1));
    status = apply(status, { type: "decommission-scaled-down", desiredCountBefore: 2 }, at(1));
    const result = transition(
      status,
      { type: "decommission-deleted", holdSeconds: 60, oldSideRequestsDuringHold: 3 },
      at(5),
    );
    expect(result).toEqual({ ok: false, refusal: expect.stringContaining("served 3 requests") });
  });

  it("scaling the old side down is refused while it has traffic", () => {
    let status = apply(
      initialStatus("m", T0),
      { type: "apply-started", phase: "staging", phaseOrder: ORDER },
      at(0),
    );
    const result = transition(status, { type: "decommission-scaled-down", desiredCountBefore: 2 }, at(0));
    expect(result).toEqual({ ok: false, refusal: "the old side still receives 100 % of traffic" });
    status = apply(status, { type: "apply-failed", reason: "deploy failed" }, at(0));
    expect(status.state).toBe("failed");
  });

  it("nothing changes after done", () => {
    const done: MigrationStatus = { ...initialStatus("m", T0), phase: "decommission", state: "done" };
    const result = transition(done, { type: "rollback-started", reason: "too late" }, at(1));
    expect(result).toEqual({
      ok: false,
      refusal: 'migration "m" is done (old side deleted); nothing changes any more',
    });
  });
});

describe("rollback targets, reconciliation and drift", () => {
  const twoShifts = () => {
    let status = runPhase(initialStatus("m", T0), "staging", undefined, 0, 0);
    status = runPhase(status, "canary-10", 10, 1, 1);
    status = apply(status, { type: "apply-started", phase: "canary-50", phaseOrder: ORDER }, at(5));
    return apply(
      status,
      {
        type: "shift-applied",
        weights: weights(50),
        checkpoint: checkpoint(status, at(5)),
        insyncAt: at(5),
        ttlSeconds: 0,
      },
      at(5),
    );
  };

  it("restores the checkpoint of a named phase, or sends all traffic to the old side", () => {
    const rolling = apply(twoShifts(), { type: "rollback-started", reason: "p95" }, at(6));
    expect(apply(rolling, { type: "rollback-completed" }, at(6)).weights).toEqual(weights(10));
    expect(
      apply(rolling, { type: "rollback-completed", target: { kind: "phase", phase: "canary-10" } }, at(6))
        .weights,
    ).toEqual(weights(0));
    expect(
      apply(rolling, { type: "rollback-completed", target: { kind: "all-old" } }, at(6)).weights,
    ).toEqual(weights(0));
    expect(
      transition(rolling, { type: "rollback-completed", target: { kind: "phase", phase: "full" } }, at(6)),
    ).toEqual({
      ok: false,
      refusal: 'no checkpoint was taken in phase "full"',
    });
  });

  it("records an applied-but-unrecorded shift without changing the state", () => {
    const status = twoShifts();
    const next = apply(
      status,
      {
        type: "reconciled",
        reason: "change C123 was INSYNC but not committed",
        weights: weights(60),
        insyncAt: at(7),
        ttlSeconds: 60,
      },
      at(8),
    );
    expect(next).toMatchObject({ state: status.state, weights: weights(60) });
    expect(next.timestamps.gateWindowStartsAt).toBe("2026-03-01T07:01:00.000Z");
    expect(next.history.at(-1)).toMatchObject({ event: "reconciled", from: "applying", to: "applying" });
  });

  it("reports drift without adopting it", () => {
    const status = twoShifts();
    const next = apply(
      status,
      { type: "drift-detected", observed: { old: 20, new: 80 }, detail: "edited in the console" },
      at(8),
    );
    expect(next.weights).toEqual(status.weights);
    expect(next.history.at(-1)).toMatchObject({
      reason: "edited in the console",
      evidence: { kind: "reconcile", drift: true, observed: { old: 20, new: 80 } },
    });
  });
});
