import { describe, expect, it } from "vitest";
import type { Route53RouterSpec } from "../../src/model/spec.js";
import { Route53Router, type Route53Snapshot } from "../../src/providers/route53-router.js";
import { type RouterReading, TrafficRouterRefusal } from "../../src/providers/traffic-router.js";
import { createTrafficRouter, routerSnapshotProblems } from "../../src/providers/traffic-routers.js";
import { awsError, RECORD_NAME, TrafficWorld, weightedPair, ZONE_ID } from "../fixtures/traffic/world.js";

const spec: Route53RouterSpec = {
  kind: "route53",
  hostedZoneId: ZONE_ID,
  recordName: RECORD_NAME,
  recordType: "A",
  oldSetIdentifier: "ecs-fargate",
  newSetIdentifier: "lambda",
};

const fastRetry = { attempts: 4, baseDelayMs: 1, maxDelayMs: 4, budgetMs: 5000 };

function routerIn(world: TrafficWorld, overrides: Partial<Route53RouterSpec> = {}) {
  return new Route53Router({ ...spec, ...overrides }, world.clients.route53, {
    retry: fastRetry,
    insyncPollSeconds: { min: 0.01, max: 0.02 },
  });
}

/** Both records of a reading's snapshot, old then new. */
function recordsOf(reading: RouterReading) {
  const [old, fresh] = (reading.snapshot as Route53Snapshot).records;
  if (!old || !fresh) throw new Error("the snapshot lacks a record");
  return { old, new: fresh };
}

async function refusalOf(promise: Promise<unknown>): Promise<TrafficRouterRefusal> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TrafficRouterRefusal);
  return error as TrafficRouterRefusal;
}

describe("Route53Router.readPair", () => {
  it("snapshots both records with every field", async () => {
    const pair = await routerIn(new TrafficWorld(weightedPair(90, 10))).read();
    expect(recordsOf(pair).old).toEqual({
      name: "api.example.com.",
      type: "A",
      setIdentifier: "ecs-fargate",
      weight: 90,
      aliasTarget: {
        hostedZoneId: "Z35SXDOTRQ7X7K",
        dnsName: "orders-api-123.us-east-1.elb.amazonaws.com.",
        evaluateTargetHealth: true,
      },
      healthCheckId: "hc-old-1",
    });
    expect(recordsOf(pair).new).toEqual({
      name: "api.example.com.",
      type: "A",
      setIdentifier: "lambda",
      weight: 10,
      ttl: 30,
      values: ["192.0.2.10", "192.0.2.11"],
    });
    // The alias has no TTL: its target's 60 s outlasts the other record's 30 s.
    expect(pair.settleSeconds).toBe(60);
    expect(pair.settleSource).toContain('alias "ecs-fargate"');
  });

  it("pages through ListResourceRecordSets from the record's name and type", async () => {
    const others = Array.from({ length: 150 }, (_, index) => ({
      Name: `${RECORD_NAME}.`,
      Type: "A" as const,
      SetIdentifier: `aa-unused-${String(index).padStart(3, "0")}`,
      Weight: 0,
      TTL: 60,
      ResourceRecords: [{ Value: "192.0.2.99" }],
    }));
    const world = new TrafficWorld([
      { Name: "aaa.example.com.", Type: "A", TTL: 60, ResourceRecords: [{ Value: "192.0.2.1" }] },
      ...others,
      ...weightedPair(100, 0),
      { Name: "zzz.example.com.", Type: "A", TTL: 60, ResourceRecords: [{ Value: "192.0.2.2" }] },
    ]);
    const pair = await routerIn(world).read();
    expect(recordsOf(pair).old.weight).toBe(100);
    expect(recordsOf(pair).new.setIdentifier).toBe("lambda");
    expect(world.count("route53:ListResourceRecordSets")).toBe(2);
  });

  it("matches the record name whatever its case and trailing dot", async () => {
    const pair = await routerIn(new TrafficWorld(weightedPair(50, 50)), {
      recordName: "API.Example.com.",
    }).read();
    expect(recordsOf(pair).new.weight).toBe(50);
  });

  it("refuses when a set identifier is missing, naming it and the records present", async () => {
    const world = new TrafficWorld(
      weightedPair(100, 0).filter((record) => record.SetIdentifier !== "lambda"),
    );
    const refusal = await refusalOf(routerIn(world).read());
    expect(refusal.code).toBe("record-missing");
    expect(refusal.message).toContain(
      'no record with SetIdentifier "lambda" (router.newSetIdentifier, the new side)',
    );
    expect(refusal.message).toContain('"ecs-fargate"');
  });

  it("refuses when no record of the name exists at all", async () => {
    const refusal = await refusalOf(
      routerIn(new TrafficWorld(weightedPair(100, 0)), { recordName: "other.example.com" }).read(),
    );
    expect(refusal.code).toBe("record-missing");
    expect(refusal.message).toContain("No record of this name and type exists");
  });

  it("refuses a record that is not weighted, naming its routing policy", async () => {
    const [old, fresh] = weightedPair(100, 0);
    const failover = { ...fresh!, Weight: undefined, Failover: "SECONDARY" as const };
    const refusal = await refusalOf(routerIn(new TrafficWorld([old!, failover])).read());
    expect(refusal.code).toBe("not-weighted");
    expect(refusal.message).toContain(
      'record "lambda" (router.newSetIdentifier) uses the failover routing policy',
    );
  });

  it("refuses when a third weighted record takes a share, and tolerates one at weight 0", async () => {
    const third = {
      Name: `${RECORD_NAME}.`,
      Type: "A" as const,
      SetIdentifier: "legacy",
      Weight: 5,
      TTL: 60,
      ResourceRecords: [{ Value: "192.0.2.5" }],
    };
    const refusal = await refusalOf(routerIn(new TrafficWorld([...weightedPair(100, 0), third])).read());
    expect(refusal.code).toBe("foreign-weighted-record");
    expect(refusal.message).toContain('"legacy" (weight 5)');
    const pair = await routerIn(new TrafficWorld([...weightedPair(100, 0), { ...third, Weight: 0 }])).read();
    expect(recordsOf(pair).old.weight).toBe(100);
  });

  it("refuses records managed by a traffic policy", async () => {
    const [old, fresh] = weightedPair(100, 0);
    const refusal = await refusalOf(
      routerIn(new TrafficWorld([old!, { ...fresh!, TrafficPolicyInstanceId: "tpi-1" }])).read(),
    );
    expect(refusal.code).toBe("managed-by-traffic-policy");
  });
});

describe("Route53Router snapshots", () => {
  it("tags the snapshot with its kind and restores exactly the weights it recorded", async () => {
    const router = routerIn(new TrafficWorld(weightedPair(3, 1)));
    const reading = await router.read();
    expect(reading.snapshot.kind).toBe("route53");
    expect(reading.sides.old).toMatchObject({ name: "ecs-fargate", weight: 3 });
    expect(router.snapshotWeights(reading.snapshot)).toEqual({ old: 3, new: 1 });
    // A snapshot of other records, or of another kind, holds nothing to restore here.
    expect(
      router.snapshotWeights({ kind: "route53", records: [{ setIdentifier: "x", weight: 1 }] }),
    ).toBeUndefined();
    expect(router.snapshotWeights({ kind: "alb", records: reading.snapshot.records })).toBeUndefined();
  });

  it("names what is wrong with a stored snapshot, with its path", () => {
    expect(
      routerSnapshotProblems(
        { kind: "route53", records: [{ setIdentifier: "a", weight: 256 }] },
        "route53",
        "$.c[0].router",
      ),
    ).toEqual(["$.c[0].router.records[0] must have a setIdentifier and an integer weight 0–255"]);
    expect(routerSnapshotProblems({ kind: "route53" }, "route53", "$.r")).toEqual([
      "$.r.records must be the list of weighted records",
    ]);
    expect(routerSnapshotProblems({ kind: "alb" }, "route53", "$.r")).toEqual([
      "$.r is a alb snapshot but the migration routes with route53",
    ]);
    expect(routerSnapshotProblems({ records: [] }, "route53", "$.r")).toEqual([
      "$.r.kind must name the router kind that took it",
    ]);
  });
});

describe("Route53Router weights", () => {
  const router = routerIn(new TrafficWorld());

  it("maps percent to record weights that sum to 100 and are never both 0", () => {
    for (let percent = 0; percent <= 100; percent++) {
      const weights = router.weightsFor(percent);
      expect(weights.old + weights.new).toBe(100);
      expect(router.effectiveWeights(weights)).toEqual({ old: 100 - percent, new: percent });
    }
  });

  it("refuses percentages out of range or fractional", () => {
    for (const bad of [-1, 101, 10.5, Number.NaN]) {
      expect(() => router.weightsFor(bad)).toThrow(TrafficRouterRefusal);
    }
    expect(() => router.weightsFor(101)).toThrow("weight 101 is not a whole percent from 0 to 100");
  });

  it("reads 0/0 as Route 53 does: an equal split", () => {
    expect(router.effectiveWeights({ old: 0, new: 0 })).toEqual({ old: 50, new: 50 });
    expect(router.effectiveWeights({ old: 2, new: 1 })).toEqual({ old: 66.67, new: 33.33 });
    expect(router.effectiveWeights({ old: 0, new: 255 })).toEqual({ old: 0, new: 100 });
  });
});

describe("Route53Router.submitWeights", () => {
  it("writes both records in one compare-and-swap batch (DELETE as read, CREATE with the new weight), only the weights changed", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    const router = routerIn(world);
    const pair = await router.read();
    const change = await router.submitWeights(pair, { old: 90, new: 10 }, "cutover orders-api: new 10%");
    expect(change.id).toBe("C0001");
    expect(world.changeBatches).toHaveLength(1);
    const [readOld, readNew] = weightedPair(100, 0);
    const [expectedOld, expectedNew] = weightedPair(90, 10);
    expect(world.changeBatches[0]).toEqual({
      HostedZoneId: ZONE_ID,
      ChangeBatch: {
        Comment: "cutover orders-api: new 10%",
        Changes: [
          { Action: "DELETE", ResourceRecordSet: readOld },
          { Action: "DELETE", ResourceRecordSet: readNew },
          { Action: "CREATE", ResourceRecordSet: expectedOld },
          { Action: "CREATE", ResourceRecordSet: expectedNew },
        ],
      },
    });
    expect(world.weightOf("ecs-fargate")).toBe(90);
    expect(world.weightOf("lambda")).toBe(10);
  });

  it("refuses, changing nothing, when another writer changed the records after they were read", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    const router = routerIn(world);
    const first = await router.read();
    const second = await router.read();
    await router.submitWeights(first, { old: 90, new: 10 }, "first writer");
    await expect(router.submitWeights(second, { old: 50, new: 50 }, "second writer")).rejects.toMatchObject({
      name: "TrafficRouterRefusal",
      code: "concurrent-change",
    });
    expect(world.weightOf("ecs-fargate")).toBe(90);
    expect(world.weightOf("lambda")).toBe(10);
  });

  it("refuses record weights Route 53 would reject or read as an equal split, before any call", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    const router = routerIn(world);
    const pair = await router.read();
    await expect(router.submitWeights(pair, { old: 256, new: 0 }, "x")).rejects.toThrow(
      "not an integer from 0 to 255",
    );
    await expect(router.submitWeights(pair, { old: 0, new: 0 }, "x")).rejects.toThrow(
      "split traffic equally",
    );
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
  });

  it("survives Throttling and PriorRequestNotComplete, then succeeds", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    world.fail("route53:ChangeResourceRecordSets", awsError("Throttling", "Rate exceeded"), 1);
    world.fail(
      "route53:ChangeResourceRecordSets",
      awsError("PriorRequestNotComplete", "still processing"),
      1,
    );
    world.fail("route53:ListResourceRecordSets", awsError("Throttling", "Rate exceeded"), 2);
    const router = routerIn(world);
    const pair = await router.read();
    await router.submitWeights(pair, { old: 50, new: 50 }, "x");
    expect(world.count("route53:ListResourceRecordSets")).toBe(3);
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(3);
    expect(world.weightOf("lambda")).toBe(50);
  });

  it("gives up after the bounded number of attempts and leaves the records as they were", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    const router = routerIn(world);
    const pair = await router.read();
    world.fail("route53:ChangeResourceRecordSets", awsError("Throttling"), 10);
    await expect(router.submitWeights(pair, { old: 50, new: 50 }, "x")).rejects.toThrow("Throttling");
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(fastRetry.attempts);
    expect(world.weightOf("ecs-fargate")).toBe(100);
    expect(world.weightOf("lambda")).toBe(0);
  });

  it("does not retry errors that are not throttling", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    const router = routerIn(world);
    const pair = await router.read();
    world.fail("route53:ChangeResourceRecordSets", awsError("InvalidChangeBatch", "bad batch"), 1);
    await expect(router.submitWeights(pair, { old: 50, new: 50 }, "x")).rejects.toThrow("bad batch");
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(1);
  });
});

describe("Route53Router.waitApplied", () => {
  it("waits for INSYNC with the SDK waiter", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    world.pendingPolls = 2;
    const router = routerIn(world);
    const change = await router.submitWeights(await router.read(), { old: 90, new: 10 }, "x");
    const before = Date.now();
    const at = await router.waitApplied(change, 5);
    expect(at.getTime()).toBeGreaterThanOrEqual(before);
    expect(world.count("route53:GetChange")).toBe(3);
  });

  it("fails within its bound when the change stays PENDING, saying the batch was accepted", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    world.pendingPolls = 10_000;
    const router = routerIn(world);
    const change = await router.submitWeights(await router.read(), { old: 90, new: 10 }, "x");
    const refusal = await refusalOf(router.waitApplied(change, 1));
    expect(refusal.code).toBe("insync-timeout");
    expect(refusal.message).toContain(`change ${change.id}`);
    expect(refusal.message).toContain("was not INSYNC within 1 s");
  });
});

describe("createTrafficRouter", () => {
  it("creates the Route 53 router", () => {
    expect(createTrafficRouter(spec, new TrafficWorld().clients).kind).toBe("route53");
  });

  it("fails loudly on an unknown kind, naming the known ones", () => {
    const alb = { ...spec, kind: "alb-listener" } as unknown as Route53RouterSpec;
    expect(() => createTrafficRouter(alb, new TrafficWorld().clients)).toThrow(
      'router.kind "alb-listener" is not a known traffic router; known kinds: route53',
    );
  });
});
