import { describe, expect, it } from "vitest";
import {
  checkHoldElapsed,
  checkNoRollbackSince,
  checkNoTraffic,
  checkOldWeightZero,
  checkScaledDown,
  decommissionSettings,
  ecrRepositoryOf,
  formatCount,
  infrastructureLeftovers,
  refusalOf,
  resolveHoldStart,
  type TrafficEvidence,
} from "../../src/core/decommission.js";
import { historyEntry, NOW, referenceMigration, statusAtFull } from "../fixtures/deploy/migration.js";

const HOUR = 3600_000;

function evidence(extra: Partial<TrafficEvidence>): TrafficEvidence {
  return {
    requests: 0,
    datapoints: 0,
    windowStart: new Date(NOW.getTime() - HOUR),
    windowEnd: NOW,
    source: "AWS/ApplicationELB RequestCount Sum",
    ...extra,
  };
}

describe("decommission settings", () => {
  it("reads the hold, the quiet window and deregistration from the last phase's step", () => {
    expect(decommissionSettings(referenceMigration())).toEqual({
      phase: "decommission",
      holdSeconds: 48 * 3600,
      hold: "48h",
      quietWindowSeconds: 3600,
      deregisterTaskDefinitions: true,
    });
  });

  it("defaults the quiet window to 1h and deregistration to off", () => {
    const migration = referenceMigration();
    migration.phases.at(-1)!.steps = [{ kind: "decommission", hold: "2d" }];
    expect(decommissionSettings(migration)).toMatchObject({
      quietWindowSeconds: 3600,
      deregisterTaskDefinitions: false,
    });
  });

  it("names what to add when the migration has no decommission step", () => {
    const migration = referenceMigration();
    migration.phases = migration.phases.slice(0, -1);
    expect(() => decommissionSettings(migration)).toThrow(
      'migration "orders-api" has no decommission step: add {"kind": "decommission", "hold": "48h"} to its last phase',
    );
  });
});

describe("old side weight", () => {
  it("holds at 0 %", () => {
    expect(checkOldWeightZero({ old: 0, new: 100 })).toMatchObject({
      ok: true,
      detail: "old side weight is 0 %",
    });
  });

  it("fails with the weight and the records", () => {
    const result = checkOldWeightZero(
      { old: 10, new: 90 },
      'record "ecs-fargate" weight 10, "lambda" weight 90',
    );
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(
      'old side weight is 10 %, must be 0 (record "ecs-fargate" weight 10, "lambda" weight 90); shift all traffic to the new side first',
    );
  });

  it("fails on a fraction of a percent", () => {
    expect(checkOldWeightZero({ old: 0.39, new: 99.61 }).detail).toContain(
      "old side weight is 0.4 %, must be 0",
    );
  });
});

describe("no traffic over the window", () => {
  it("fails with the count, thousands separated, and the window", () => {
    const result = checkNoTraffic(evidence({ requests: 1234, datapoints: 60 }));
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(
      "old side served 1,234 requests in the last 1h (2026-03-10T11:00:00.000Z to 2026-03-10T12:00:00.000Z), must be 0 (AWS/ApplicationELB RequestCount Sum)",
    );
  });

  it("fails on a single request", () => {
    expect(checkNoTraffic(evidence({ requests: 1, datapoints: 1 })).ok).toBe(false);
  });

  it("holds on explicit zeros", () => {
    const result = checkNoTraffic(evidence({ datapoints: 60 }));
    expect(result).toMatchObject({ ok: true });
    expect(result.detail).toContain("60 datapoints, all zero");
  });

  it("holds on an empty window when the metric had data before it", () => {
    const result = checkNoTraffic(evidence({ seenBefore: { datapoints: 12, lookbackSeconds: 14 * 86_400 } }));
    expect(result.ok).toBe(true);
    expect(result.detail).toContain("the metric had 12 datapoints in the 14d before it");
  });

  it("fails when the metric has no data at all: quiet cannot be told from wrong telemetry", () => {
    const result = checkNoTraffic(evidence({ seenBefore: { datapoints: 0, lookbackSeconds: 14 * 86_400 } }));
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("no request data for the old side in the last 1h");
    expect(result.detail).toContain("nor in the 14d before it");
    expect(result.detail).toContain("check oldSide.telemetry");
  });
});

describe("hold start", () => {
  const recorded = "2026-03-09T00:00:00.000Z";
  const withHold = statusAtFull({
    decommission: { stage: "scaled-down", holdStartedAt: recorded, desiredCountBefore: 3 },
  });

  it("comes from the status", () => {
    expect(resolveHoldStart(withHold, undefined)).toEqual({
      at: new Date(recorded),
      source: "status decommission.holdStartedAt",
    });
  });

  it("comes from the input before the status recorded it", () => {
    const input = new Date("2026-03-09T06:00:00Z");
    expect(resolveHoldStart(statusAtFull(), input)).toEqual({ at: input, source: "input hold-started-at" });
  });

  it("takes the later of the two, so an input can only lengthen the hold", () => {
    expect(resolveHoldStart(withHold, new Date("2026-03-08T00:00:00Z"))?.at).toEqual(new Date(recorded));
    const later = new Date("2026-03-09T06:00:00Z");
    const start = resolveHoldStart(withHold, later);
    expect(start?.at).toEqual(later);
    expect(start?.source).toContain("later than the status's 2026-03-09T00:00:00.000Z");
  });

  it("is absent when neither gives one", () => {
    expect(resolveHoldStart(statusAtFull(), undefined)).toBeUndefined();
  });
});

describe("hold elapsed", () => {
  const start = { at: new Date("2026-03-09T22:48:00.000Z"), source: "status decommission.holdStartedAt" };

  it("fails with the time elapsed, the hold and when it ends", () => {
    const result = checkHoldElapsed(start, 48 * 3600, NOW, "48h");
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(
      "hold started 2026-03-09T22:48:00.000Z (status decommission.holdStartedAt); 13h12m of 48h elapsed, 1d10h48m left (until 2026-03-11T22:48:00.000Z)",
    );
  });

  it("holds once the hold has elapsed, to the second", () => {
    const exactly = new Date(start.at.getTime() + 48 * HOUR);
    expect(checkHoldElapsed(start, 48 * 3600, exactly).ok).toBe(true);
    expect(checkHoldElapsed(start, 48 * 3600, new Date(exactly.getTime() - 1000)).ok).toBe(false);
  });

  it("fails without a hold start, saying how to get one", () => {
    expect(checkHoldElapsed(undefined, 48 * 3600, NOW).detail).toContain("run stage scale-down first");
  });

  it("fails on a hold start in the future", () => {
    const result = checkHoldElapsed(
      { at: new Date(NOW.getTime() + HOUR), source: "input hold-started-at" },
      60,
      NOW,
    );
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("is in the future of 2026-03-10T12:00:00.000Z");
  });
});

describe("no rollback since the hold started", () => {
  const start = { at: new Date("2026-03-09T00:00:00.000Z"), source: "status" };

  it("holds when rollbacks are older than the hold", () => {
    const history = [historyEntry("2026-02-01T00:00:00.000Z", "rollback", "rolled-back", "p95 1.2 s")];
    expect(checkNoRollbackSince(history, start).ok).toBe(true);
  });

  it("fails on a rollback after the hold started, with when and why", () => {
    const history = [
      historyEntry("2026-03-09T00:00:00.000Z", "scaled-down", "decommissioning"),
      historyEntry("2026-03-09T05:00:00.000Z", "rollback", "rolled-back", "error rate 3 % > 2 %"),
    ];
    const result = checkNoRollbackSince(history, start);
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(
      "1 rollback recorded since the hold started 2026-03-09T00:00:00.000Z, the last at 2026-03-09T05:00:00.000Z " +
        "(event rollback: error rate 3 % > 2 %); the old side was needed again, so start over from stage scale-down",
    );
  });

  it("recognises a rollback by the state it moved to", () => {
    const history = [historyEntry("2026-03-09T01:00:00.000Z", "gate-breached", "rolling-back")];
    expect(checkNoRollbackSince(history, start).ok).toBe(false);
  });
});

describe("scaled down", () => {
  const label = "ECS service prod/orders-api";

  it("holds at zero", () => {
    expect(checkScaledDown(label, { status: "ACTIVE", desiredCount: 0, runningCount: 0 }).ok).toBe(true);
  });

  it("fails when scaled back up, with the counts", () => {
    const result = checkScaledDown(label, { status: "ACTIVE", desiredCount: 3, runningCount: 3 });
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("has desiredCount 3 and runningCount 3, must be 0 and 0");
  });

  it("fails while tasks are still draining", () => {
    expect(checkScaledDown(label, { status: "ACTIVE", desiredCount: 0, runningCount: 1 }).ok).toBe(false);
  });

  it("fails for a missing or draining service", () => {
    expect(checkScaledDown(label, undefined).detail).toContain("does not exist");
    expect(checkScaledDown(label, { status: "DRAINING", desiredCount: 0, runningCount: 0 }).detail).toContain(
      "DRAINING",
    );
  });
});

describe("refusal message", () => {
  it("names every failed precondition and nothing else", () => {
    const message = refusalOf("scale-down", [
      { name: "old-weight-zero", ok: false, detail: "old side weight is 10 %, must be 0" },
      { name: "no-traffic", ok: false, detail: "old side served 1,234 requests in the last 1h" },
      { name: "service-active", ok: true, detail: "ECS service prod/orders-api is ACTIVE" },
    ]);
    expect(message).toBe(
      "decommission scale-down refused: old side weight is 10 %, must be 0; old side served 1,234 requests in the last 1h. Nothing was changed.",
    );
  });

  it("is absent when all hold", () => {
    expect(refusalOf("delete", [{ name: "x", ok: true, detail: "fine" }])).toBeUndefined();
  });

  it("formats counts the same on every machine", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
  });
});

describe("what remains for the infrastructure code", () => {
  it("finds the ECR repository of an image", () => {
    expect(ecrRepositoryOf("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/orders-api:v7")).toEqual({
      registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
      repository: "team/orders-api",
    });
    expect(ecrRepositoryOf("public.ecr.aws/nginx/nginx:1")).toBeUndefined();
  });

  it("lists the old record, load balancer, target group, alarms and repository with the change to make", () => {
    const leftovers = infrastructureLeftovers(
      referenceMigration(),
      "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api:v1",
    );
    const byResource = Object.fromEntries(leftovers.map((left) => [left.resource, left]));
    expect(byResource["Route 53 weighted record (old side)"]?.identifier).toBe(
      'api.example.com A SetIdentifier "ecs-fargate" in zone Z0EXAMPLE00001',
    );
    expect(byResource["Route 53 weighted record (old side)"]?.change).toContain(
      'keep "lambda" as a weighted record with its weight unchanged',
    );
    expect(byResource["Application Load Balancer"]?.identifier).toBe("app/orders-api/50dc6c495c0c9188");
    expect(byResource["Target group"]?.identifier).toBe("targetgroup/orders-api/73e2d6bc24d8a067");
    expect(byResource["ECR repository"]?.change).toContain("delete the repository orders-api");
  });
});
