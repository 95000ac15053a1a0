// Invariants of the state machine over arbitrary event sequences.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultRollbackTarget, type MigrationEvent, transition } from "../../src/core/transitions.js";
import { initialStatus, type MigrationStatus, type Weights } from "../../src/model/status.js";

const ORDER = ["staging", "canary-10", "canary-50", "full", "decommission"];
const T0 = Date.parse("2026-03-01T00:00:00.000Z");

const anyWeights: fc.Arbitrary<Weights> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 10, 50, 100).map((w) => ({ old: 100 - w, new: w })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 100 }).map((w) => ({ old: 100 - w, new: w })) },
  // Invalid weights must always be refused.
  {
    weight: 1,
    arbitrary: fc.record({
      old: fc.integer({ min: -50, max: 200 }),
      new: fc.integer({ min: -50, max: 200 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.double({ min: 0, max: 100, noNaN: true }).map((w) => ({ old: 100 - w, new: w })),
  },
);

const phaseName = fc.constantFrom(...ORDER);

/** Every event kind, with arguments that are sometimes nonsense. */
const anyEvent: fc.Arbitrary<MigrationEvent> = fc.oneof(
  {
    weight: 6,
    arbitrary: phaseName.map((phase) => ({ type: "apply-started", phase, phaseOrder: ORDER }) as const),
  },
  {
    weight: 4,
    arbitrary: fc
      .record({
        weights: anyWeights,
        checkpointWeights: anyWeights,
        phase: fc.option(phaseName, { nil: null }),
        ttl: fc.nat(600),
      })
      .map(
        ({ weights, checkpointWeights, phase, ttl }) =>
          ({
            type: "shift-applied",
            weights,
            checkpoint: { phase, takenAt: new Date(T0).toISOString(), weights: checkpointWeights },
            insyncAt: new Date(T0),
            ttlSeconds: ttl,
          }) as const,
      ),
  },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(0, 3600, 86_400)
      .map((bakeSeconds) => ({ type: "apply-succeeded", bakeSeconds }) as const),
  },
  { weight: 1, arbitrary: fc.constant({ type: "apply-failed", reason: "step failed" } as const) },
  {
    weight: 6,
    arbitrary: fc
      .constantFrom("pass", "pass", "fail", "insufficient-data", "rollback")
      .map(
        (verdict) =>
          ({ type: "gate-evaluated", gate: "standard", verdict, evidence: { kind: "gate" } }) as const,
      ),
  },
  { weight: 1, arbitrary: fc.constant({ type: "rollback-started", reason: "breach" } as const) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(undefined, { kind: "all-old" } as const)
      .map((target) =>
        target
          ? ({ type: "rollback-completed", target } as const)
          : ({ type: "rollback-completed" } as const),
      ),
  },
  {
    weight: 1,
    arbitrary: fc
      .nat(10)
      .map((count) => ({ type: "decommission-scaled-down", desiredCountBefore: count }) as const),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ hold: fc.constantFrom(0, 3600), requests: fc.constantFrom(0, 0, 5) })
      .map(
        ({ hold, requests }) =>
          ({ type: "decommission-deleted", holdSeconds: hold, oldSideRequestsDuringHold: requests }) as const,
      ),
  },
  {
    weight: 1,
    arbitrary: anyWeights.map(
      (weights) => ({ type: "reconciled", reason: "found applied", weights }) as const,
    ),
  },
  { weight: 1, arbitrary: anyWeights.map((observed) => ({ type: "drift-detected", observed }) as const) },
);

/** Events with the hours that pass before each. */
const scenario = fc.array(fc.tuple(anyEvent, fc.integer({ min: 0, max: 200 })), {
  minLength: 1,
  maxLength: 80,
  // Long sequences: the late states (decommissioning, rolled-back) need many events to reach.
  size: "large",
});

interface Step {
  before: MigrationStatus;
  event: MigrationEvent;
  result: ReturnType<typeof transition>;
}

function run(steps: [MigrationEvent, number][]): Step[] {
  let status = initialStatus("orders-api", new Date(T0));
  let time = T0;
  const trace: Step[] = [];
  for (const [event, hours] of steps) {
    time += hours * 3_600_000;
    const before = status;
    const frozen = structuredClone(before);
    const result = transition(before, event, new Date(time));
    expect(before).toEqual(frozen); // the input is never modified
    trace.push({ before, event, result });
    if (result.ok) status = result.status;
  }
  return trace;
}

function validWeights(weights: Weights): boolean {
  return (
    [weights.old, weights.new].every((value) => Number.isInteger(value) && value >= 0 && value <= 100) &&
    weights.old + weights.new === 100
  );
}

const RUNS = { numRuns: 200 };

describe("state machine invariants", () => {
  it("weights stay integers within 0–100 that sum to 100", () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        for (const { result } of run(steps))
          if (result.ok) expect(validWeights(result.status.weights)).toBe(true);
      }),
      RUNS,
    );
  });

  it("a completed rollback returns to the last checkpoint's weights (all old when asked, when there is none, or while a decommission holds the old side down)", () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        for (const { before, event, result } of run(steps)) {
          if (!result.ok || event.type !== "rollback-completed") continue;
          const last = before.checkpoints.at(-1);
          // Without a target, a decommission holding the old side scaled down rolls back to all-old.
          const target = event.target ?? defaultRollbackTarget(before);
          const expected = target.kind === "all-old" || !last ? { old: 100, new: 0 } : last.weights;
          expect(result.status.weights).toEqual(expected);
          expect(result.status.state).toBe("rolled-back");
        }
      }),
      RUNS,
    );
  });

  it("no event sequence skips a phase: a phase is entered only after the one before it passed", () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        let reached = -1;
        for (const { before, event, result } of run(steps)) {
          if (!result.ok || event.type !== "apply-started") continue;
          const index = ORDER.indexOf(event.phase);
          expect(index).toBeLessThanOrEqual(reached + 1);
          if (index === reached + 1 && index > 0) {
            expect(before.state).toBe("passed");
            expect(before.phase).toBe(ORDER[index - 1]);
          }
          reached = Math.max(reached, index);
        }
      }),
      RUNS,
    );
  });

  it("after done nothing mutates", () => {
    fc.assert(
      fc.property(scenario, fc.array(anyEvent, { minLength: 1, maxLength: 10 }), (steps, later) => {
        const trace = run(steps);
        const last = trace.at(-1)!;
        const final = last.result.ok ? last.result.status : last.before;
        const done: MigrationStatus = { ...structuredClone(final), state: "done" };
        for (const event of later) {
          const result = transition(done, event, new Date(T0 + 10_000 * 3_600_000));
          expect(result.ok).toBe(false);
        }
        // And in sequences that reach done by themselves, every later event was refused.
        const doneAt = trace.findIndex((step) => step.result.ok && step.result.status.state === "done");
        if (doneAt >= 0) for (const step of trace.slice(doneAt + 1)) expect(step.result.ok).toBe(false);
      }),
      RUNS,
    );
  });

  it("history only grows: one entry per accepted event, earlier entries untouched", () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        for (const { before, event, result } of run(steps)) {
          if (!result.ok) {
            expect(result.refusal.length).toBeGreaterThan(0);
            continue;
          }
          expect(result.status.history).toHaveLength(before.history.length + 1);
          expect(result.status.history.slice(0, -1)).toEqual(before.history);
          expect(result.status.history.at(-1)).toMatchObject({
            event: event.type,
            from: before.state,
            to: result.status.state,
          });
          expect(result.status.checkpoints.slice(0, before.checkpoints.length)).toEqual(before.checkpoints);
        }
      }),
      RUNS,
    );
  });

  it("random sequences do reach the late states, so the properties above are exercised", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenario, (steps) => {
        for (const { result } of run(steps)) if (result.ok) seen.add(result.status.state);
      }),
      { numRuns: 200, seed: 42 },
    );
    for (const state of [
      "applying",
      "baking",
      "passed",
      "failed",
      "rolling-back",
      "rolled-back",
      "decommissioning",
    ]) {
      expect(seen).toContain(state);
    }
  });
});
