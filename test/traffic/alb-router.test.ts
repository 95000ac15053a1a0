// The ALB router against the sandbox's ELBv2 (real SDK client, Query
// protocol): reading the weighted forward, refusing shapes it cannot change,
// writing only the weights, compare-and-swap, target health as readiness, and
// a shift and rollback through the operations, which never learn its kind.

import { join } from "node:path";
import { ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../sandbox/index.js";
import { buildCheckpointDocument } from "../../src/core/aws-checkpoint.js";
import { validateSpecText } from "../../src/core/validate.js";
import type { AlbRouterSpec } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { rollbackFromCheckpoint } from "../../src/ops/aws-rollback.js";
import { readMigrationLeniently } from "../../src/ops/migration-context.js";
import { rollback } from "../../src/ops/rollback.js";
import { shiftTraffic } from "../../src/ops/shift-traffic.js";
import { createTrafficProviders } from "../../src/ops/traffic.js";
import { AlbRouter, type AlbSnapshot, targetHealthReadiness } from "../../src/providers/alb-router.js";
import { TrafficRouterRefusal } from "../../src/providers/traffic-router.js";
import { createTrafficRouter, routerSnapshotProblems } from "../../src/providers/traffic-routers.js";
import { albMigration, albSeed } from "../fixtures/alb/seed.js";
import { MemoryCheckpointStore } from "../fixtures/guardian/memory-store.js";
import { clientConfig, startTestSandbox } from "../fixtures/sandbox/control-plane.js";
import { journal, NOW, referenceMigration, statusAt } from "../fixtures/traffic/migration.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";

let sandbox: Sandbox;
let elbv2: ElasticLoadBalancingV2Client;
let spec: AlbRouterSpec;
let arns: {
  listener: string;
  single: string;
  ecs: string;
  lambda: string;
  legacy: string;
  ordersRule: string;
};

async function start(seed = albSeed()): Promise<void> {
  sandbox = await startTestSandbox(seed);
  elbv2 = new ElasticLoadBalancingV2Client(clientConfig(sandbox));
  const balancer = (await elbv2.send(new DescribeLoadBalancersCommand({ Names: ["orders"] })))
    .LoadBalancers![0]!;
  const listeners = (
    await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: balancer.LoadBalancerArn! }))
  ).Listeners!;
  const groups = (await elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups!;
  const group = (name: string) =>
    groups.find((candidate) => candidate.TargetGroupName === name)!.TargetGroupArn!;
  const listener = listeners.find((candidate) => candidate.Port === 80)!.ListenerArn!;
  const rules = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: listener }))).Rules!;
  arns = {
    listener,
    single: listeners.find((candidate) => candidate.Port === 8080)!.ListenerArn!,
    ecs: group("orders-ecs"),
    lambda: group("orders-lambda"),
    legacy: group("orders-legacy"),
    ordersRule: rules.find((rule) => rule.Priority === "10")!.RuleArn!,
  };
  spec = {
    kind: "alb",
    listenerArn: arns.listener,
    oldTargetGroupArn: arns.ecs,
    newTargetGroupArn: arns.lambda,
  };
}

afterEach(async () => sandbox?.close());

function routerOf(overrides: Partial<AlbRouterSpec> = {}): AlbRouter {
  return new AlbRouter({ ...spec, ...overrides }, elbv2, {
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2, budgetMs: 1000 },
    readBackPollSeconds: 0.02,
  });
}

async function refusal(promise: Promise<unknown>): Promise<TrafficRouterRefusal> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TrafficRouterRefusal);
  return error as TrafficRouterRefusal;
}

async function defaultWeights(): Promise<number[]> {
  const listener = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [arns.listener] })))
    .Listeners![0]!;
  return (listener.DefaultActions?.[0]?.ForwardConfig?.TargetGroups ?? []).map((group) => group.Weight ?? -1);
}

describe("AlbRouter.read", () => {
  beforeEach(() => start());

  it("snapshots the forward action tagged alb, names both groups, and reads target health as readiness", async () => {
    const reading = await routerOf().read();
    expect(reading.snapshot).toEqual({
      kind: "alb",
      listenerArn: arns.listener,
      targetGroups: [
        { targetGroupArn: arns.ecs, weight: 100 },
        { targetGroupArn: arns.lambda, weight: 0 },
      ],
      stickiness: { enabled: false },
    } satisfies AlbSnapshot);
    expect(reading.sides.old).toMatchObject({
      name: "orders-ecs",
      weight: 100,
      title: 'target group "orders-ecs"',
    });
    expect(reading.sides.new).toMatchObject({ name: "orders-lambda", weight: 0 });
    expect(reading.settleSeconds).toBe(0);
    expect(reading.readiness?.old).toMatchObject({
      ready: true,
      summary: "target group orders-ecs: 2 of 2 targets serving (2 healthy)",
    });
    expect(reading.readiness?.new?.ready).toBe(true);
    expect(routerSnapshotProblems(reading.snapshot, "alb", "$.router")).toEqual([]);
  });

  it("settles for the stickiness duration when stickiness is on", async () => {
    await sandbox.close();
    await start(albSeed({ stickinessSeconds: 300 }));
    const reading = await routerOf().read();
    expect(reading.settleSeconds).toBe(300);
    expect(reading.settleSource).toBe("target group stickiness of 300 s");
    expect(reading.sides.old.kept).toEqual(["stickiness 300 s"]);
  });

  it("refuses a listener whose forward action has one target group, saying what it needs", async () => {
    const refused = await refusal(routerOf({ listenerArn: arns.single }).read());
    expect(refused.code).toBe("unexpected-shape");
    expect(refused.message).toContain(
      `ALB listener ${arns.single} (default action) forwards to one target group only (${arns.ecs})`,
    );
    expect(refused.message).toContain(
      "weighted forward to both router.oldTargetGroupArn and router.newTargetGroupArn",
    );
  });

  it("refuses a target group the listener does not forward to, naming the spec field", async () => {
    const refused = await refusal(routerOf({ newTargetGroupArn: arns.legacy }).read());
    expect(refused.code).toBe("resource-missing");
    expect(refused.message).toContain(
      `does not forward to target group ${arns.legacy} (router.newTargetGroupArn, the new side)`,
    );
  });

  it("refuses a third target group that takes traffic", async () => {
    await elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: arns.listener,
        DefaultActions: [
          {
            Type: "forward",
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: arns.ecs, Weight: 90 },
                { TargetGroupArn: arns.lambda, Weight: 0 },
                { TargetGroupArn: arns.legacy, Weight: 10 },
              ],
            },
          },
        ],
      }),
    );
    const refused = await refusal(routerOf().read());
    expect(refused.code).toBe("foreign-weighted-record");
    expect(refused.message).toContain(`${arns.legacy} (weight 10)`);
  });

  it("refuses a listener or rule that does not exist, and a rule of another listener", async () => {
    const missing = await refusal(
      routerOf({ listenerArn: arns.listener.replace(/[0-9a-f]{16}$/, "0000000000000000") }).read(),
    );
    expect(missing.code).toBe("resource-missing");
    expect(missing.message).toContain("ListenerNotFound");
    const other = await refusal(routerOf({ listenerArn: arns.single, ruleArn: arns.ordersRule }).read());
    expect(other.code).toBe("unexpected-shape");
    expect(other.message).toContain("belongs to another listener");
  });
});

describe("AlbRouter weights and snapshots", () => {
  beforeEach(() => start());

  it("maps percent onto weights 0–100 and reads weights as shares", () => {
    const router = routerOf();
    expect(router.weightsFor(10)).toEqual({ old: 90, new: 10 });
    expect(router.effectiveWeights({ old: 3, new: 1 })).toEqual({ old: 75, new: 25 });
    expect(() => router.weightsFor(12.5)).toThrow("not a whole percent");
  });

  it("restores exactly the weights a snapshot of this split recorded, nothing from others", () => {
    const router = routerOf();
    const snapshot: AlbSnapshot = {
      kind: "alb",
      listenerArn: arns.listener,
      targetGroups: [
        { targetGroupArn: arns.ecs, weight: 700 },
        { targetGroupArn: arns.lambda, weight: 300 },
      ],
      stickiness: { enabled: false },
    };
    expect(router.snapshotWeights(snapshot)).toEqual({ old: 700, new: 300 });
    expect(router.snapshotWeights({ ...snapshot, kind: "route53" })).toBeUndefined();
    expect(
      router.snapshotWeights({ ...snapshot, targetGroups: [{ targetGroupArn: arns.legacy, weight: 1 }] }),
    ).toBeUndefined();
    expect(
      routerSnapshotProblems(
        { ...snapshot, targetGroups: [{ targetGroupArn: arns.ecs, weight: 1000 }] },
        "alb",
        "$.r",
      ),
    ).toEqual(["$.r.targetGroups[0] must have a targetGroupArn and an integer weight 0–999"]);
  });
});

describe("AlbRouter.submitWeights", () => {
  beforeEach(() => start(albSeed({ stickinessSeconds: 120 })));

  it("changes only the two weights of the listener's forward, stickiness and rules kept", async () => {
    const router = routerOf();
    const before = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: arns.listener }))).Rules!;
    const change = await router.submitWeights(
      await router.read(),
      { old: 90, new: 10 },
      "cutover orders-api: new 10%",
    );
    expect(change.status).toBe("APPLIED");
    await router.waitApplied(change, 2);
    expect(await defaultWeights()).toEqual([90, 10]);
    const after = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: arns.listener }))).Rules!;
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
    expect(after[2]!.Actions?.[0]?.ForwardConfig?.TargetGroupStickinessConfig).toEqual({
      Enabled: true,
      DurationSeconds: 120,
    });
  });

  it("changes a rule's forward when the spec names the rule, leaving the default action", async () => {
    const router = routerOf({ ruleArn: arns.ordersRule });
    await router.waitApplied(await router.submitWeights(await router.read(), { old: 50, new: 50 }, "x"), 2);
    const rule = (await elbv2.send(new DescribeRulesCommand({ RuleArns: [arns.ordersRule] }))).Rules![0]!;
    expect(rule.Actions?.[0]?.ForwardConfig?.TargetGroups?.map((group) => group.Weight)).toEqual([50, 50]);
    expect(rule.Conditions?.[0]?.Values).toEqual(["/orders/*"]);
    expect(await defaultWeights()).toEqual([100, 0]);
  });

  it("refuses, changing nothing, when another writer changed the actions after they were read", async () => {
    const router = routerOf();
    const first = await router.read();
    const second = await router.read();
    await router.submitWeights(first, { old: 90, new: 10 }, "first writer");
    const refused = await refusal(router.submitWeights(second, { old: 50, new: 50 }, "second writer"));
    expect(refused.code).toBe("concurrent-change");
    expect(await defaultWeights()).toEqual([90, 10]);
  });

  it("refuses weights ELBv2 would reject, before any call", async () => {
    const router = routerOf();
    const reading = await router.read();
    await expect(router.submitWeights(reading, { old: 1000, new: 0 }, "x")).rejects.toThrow(
      "not an integer from 0 to 999",
    );
    await expect(router.submitWeights(reading, { old: 0, new: 0 }, "x")).rejects.toThrow(
      "no request to either side",
    );
    const calls = sandbox.state().calls as Record<string, number>;
    expect(calls["elbv2.DescribeListeners"]).toBeGreaterThan(0);
    expect(calls["elbv2.ModifyListener"]).toBeUndefined();
  });
});

describe("the operations on an ALB migration", () => {
  beforeEach(() => start());

  const providersOf = () => {
    const migration = albMigration(spec);
    const config = clientConfig(sandbox);
    return {
      migration,
      providers: createTrafficProviders(migration, {
        elbv2,
        ecs: new ECSClient(config),
        lambda: new LambdaClient(config),
      }),
    };
  };

  it("the registry builds the alb router, and refuses without its client", () => {
    expect(createTrafficRouter(spec, { elbv2 }).kind).toBe("alb");
    expect(() => createTrafficRouter(spec, {})).toThrow(
      "the alb router needs an Elastic Load Balancing v2 client",
    );
  });

  it("shifts to canary-10 and rolls back to the checkpoint's exact weights", async () => {
    const { migration, providers } = providersOf();
    const status = statusAt("staging", { old: 100, new: 0 });
    const move = await shiftTraffic(
      {
        migration,
        status,
        target: { kind: "phase", phase: "canary-10" },
        insyncTimeoutSeconds: 5,
        requestedBy: "test",
        now: () => NOW,
      },
      providers,
      journal(),
    );
    expect(move.weights).toEqual({ old: 90, new: 10 });
    expect(await defaultWeights()).toEqual([90, 10]);
    // No DNS cache: the gate window starts when the change returned.
    expect(move.gateWindowStart.getTime()).toBe(move.insyncAt!.getTime());
    expect(move.checkpoint.router).toMatchObject({
      kind: "alb",
      targetGroups: [{ weight: 100 }, { weight: 0 }],
    });
    const after: MigrationStatus = {
      ...status,
      phase: "canary-10",
      weights: move.weights,
      checkpoints: [move.checkpoint],
    };
    const back = await rollback(
      {
        migration,
        status: after,
        reason: "error rate",
        insyncTimeoutSeconds: 5,
        stableTimeoutSeconds: 5,
        requestedBy: "test",
        now: () => NOW,
      },
      providers,
      journal(),
    );
    expect(back.weights).toEqual({ old: 100, new: 0 });
    expect(await defaultWeights()).toEqual([100, 0]);
  });

  it("moves no weight onto a side whose target group has no healthy target, and brings it back before a rollback", async () => {
    const { migration, providers } = providersOf();
    await elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: arns.listener,
        DefaultActions: [
          {
            Type: "forward",
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: arns.ecs, Weight: 0 },
                { TargetGroupArn: arns.lambda, Weight: 100 },
              ],
            },
          },
        ],
      }),
    );
    const ecs = new ECSClient(clientConfig(sandbox));
    await ecs.send(new UpdateServiceCommand({ cluster: "prod", service: "orders-api", desiredCount: 0 }));
    // Until the tasks have stopped, the target group still has them.
    for (let attempt = 0; attempt < 100; attempt++) {
      const health = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.ecs }));
      if (health.TargetHealthDescriptions?.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const status = statusAt("full", { old: 0, new: 100 });
    await expect(
      shiftTraffic(
        {
          migration,
          status,
          target: { kind: "weight", percent: 90 },
          insyncTimeoutSeconds: 5,
          requestedBy: "test",
          now: () => NOW,
        },
        providers,
        journal(),
      ),
    ).rejects.toThrow(/will not move traffic onto the old side/);
    expect(await defaultWeights()).toEqual([0, 100]);
    const log = journal();
    const back = await rollback(
      {
        migration,
        status,
        reason: "error rate",
        targetPhase: "all-old",
        insyncTimeoutSeconds: 5,
        stableTimeoutSeconds: 10,
        fallbackDesiredCount: 2,
        requestedBy: "test",
        now: () => NOW,
      },
      providers,
      log,
    );
    expect(back.weights).toEqual({ old: 100, new: 0 });
    expect(log.found.join("\n")).toContain("target group orders-ecs: 2 of 2 targets serving");
  });
});

describe("targetHealthReadiness", () => {
  it("counts healthy targets, and Lambda targets with health checks off, as serving", () => {
    expect(
      targetHealthReadiness("arn:aws:elasticloadbalancing:r:1:targetgroup/tg/1", [
        { TargetHealth: { State: "unhealthy" } },
        { TargetHealth: { State: "draining" } },
      ]),
    ).toMatchObject({
      ready: false,
      summary: "target group tg: 0 of 2 targets serving (1 unhealthy, 1 draining)",
    });
    expect(
      targetHealthReadiness("arn:aws:elasticloadbalancing:r:1:targetgroup/tg/1", [
        { TargetHealth: { State: "unavailable", Reason: "Target.HealthCheckDisabled" } },
      ]).ready,
    ).toBe(true);
    expect(targetHealthReadiness("arn:aws:elasticloadbalancing:r:1:targetgroup/tg/1", []).summary).toBe(
      "target group tg has no registered targets",
    );
  });
});

describe("the alb router in the spec", () => {
  const specWith = (router: Record<string, unknown>) =>
    JSON.stringify({ version: 1, migrations: [{ ...albMigration(spec), router }] }, null, 2);
  const valid = {
    kind: "alb",
    listenerArn:
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2",
    oldTargetGroupArn:
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-ecs/73e2d6bc24d8a067",
    newTargetGroupArn:
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-lambda/0a1b2c3d4e5f6a7b",
  };
  beforeEach(() => start());

  it("accepts a listener and two target groups", () => {
    const result = validateSpecText(specWith(valid), { file: "migrations.json", fileExists: () => true });
    expect(result.errors).toEqual([]);
  });

  it("refuses a target group ARN that is not one, and the same group on both sides, naming the JSON path", () => {
    const bad = validateSpecText(specWith({ ...valid, newTargetGroupArn: "orders-lambda" }), {
      file: "migrations.json",
      fileExists: () => true,
    });
    expect(bad.errors.map((error) => error.path)).toContain("migrations[0].router.newTargetGroupArn");
    expect(bad.errors.map((error) => error.expected).join("\n")).toContain("a target group ARN such as");
    const same = validateSpecText(specWith({ ...valid, newTargetGroupArn: valid.oldTargetGroupArn }), {
      file: "migrations.json",
      fileExists: () => true,
    });
    expect(same.errors).toEqual([
      expect.objectContaining({
        path: "migrations[0].router.newTargetGroupArn",
        expected: "a target group different from oldTargetGroupArn",
      }),
    ]);
  });
});

describe("the guardian's rollback from an AWS-side checkpoint of an ALB migration", () => {
  beforeEach(() => start());

  it("restores the ALB snapshot's exact weights through the registry and journals it", async () => {
    const migration = albMigration(spec);
    const config = clientConfig(sandbox);
    const clients = { elbv2, ecs: new ECSClient(config), lambda: new LambdaClient(config) };
    // A shift took the checkpoint the AWS-side document keeps; then the weights moved on.
    const move = await shiftTraffic(
      {
        migration,
        status: statusAt("staging", { old: 100, new: 0 }),
        target: { kind: "weight", percent: 30 },
        insyncTimeoutSeconds: 5,
        requestedBy: "test",
        now: () => NOW,
      },
      createTrafficProviders(migration, clients),
      journal(),
    );
    await elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: arns.listener,
        DefaultActions: [
          {
            Type: "forward",
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: arns.ecs, Weight: 40 },
                { TargetGroupArn: arns.lambda, Weight: 60 },
              ],
            },
          },
        ],
      }),
    );
    const store = new MemoryCheckpointStore();
    const checkpoint = {
      ...move.checkpoint,
      router: {
        ...move.checkpoint.router!,
        targetGroups: [
          { targetGroupArn: arns.ecs, weight: 700 },
          { targetGroupArn: arns.lambda, weight: 300 },
        ],
      },
    };
    store.seed(
      buildCheckpointDocument({
        migration,
        status: { ...statusAt("canary-50", { old: 40, new: 60 }), checkpoints: [checkpoint] },
        writer: "shift-traffic run 1-1",
        now: NOW,
      }),
    );
    const result = await rollbackFromCheckpoint(
      {
        store,
        migrationId: "orders-api",
        entryId: "alarm-1",
        by: "guardian",
        trigger: { kind: "alarm", reason: "error rate above 2 %" },
        target: "checkpoint",
        clients,
        insyncTimeoutSeconds: 5,
        stableTimeoutSeconds: 5,
        now: () => new Date(),
      },
      journal(),
    );
    expect(result.outcome).toBe("rolled-back");
    // The snapshot's own weights, not 70/30 written as percent: the exact restore goes through the alb router.
    expect(await defaultWeights()).toEqual([700, 300]);
    expect(result.entry?.after).toEqual({ old: 70, new: 30 });
  });
});

describe("the quick read a rollback makes of an ALB spec", () => {
  it("names the router field the alb router needs when it is missing", async () => {
    const workspace = new TrafficWorkspace(referenceMigration());
    const { newTargetGroupArn: _missing, ...partial } = {
      kind: "alb" as const,
      listenerArn:
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2",
      oldTargetGroupArn:
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-ecs/73e2d6bc24d8a067",
      newTargetGroupArn: "unused",
    };
    workspace.writeSpec({ ...referenceMigration(), router: partial as unknown as AlbRouterSpec });
    await expect(
      readMigrationLeniently(join(workspace.dir, "migrations.json"), "orders-api"),
    ).rejects.toThrow(/lacks \.router\.newTargetGroupArn$/);
    workspace.writeSpec({
      ...referenceMigration(),
      router: { ...partial, kind: "nginx" } as unknown as AlbRouterSpec,
    });
    await expect(
      readMigrationLeniently(join(workspace.dir, "migrations.json"), "orders-api"),
    ).rejects.toThrow(/lacks \.router\.kind$/);
  });
});
