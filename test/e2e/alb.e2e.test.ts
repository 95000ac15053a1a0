// The bundled shift-traffic and rollback actions on a migration routed by an
// Application Load Balancer, against the sandbox's ELBv2 and its data plane,
// which sends each request by the listener's weights at once.
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { startTraffic } from "../../sandbox/traffic.js";
import type { AlbRouterSpec } from "../../src/model/spec.js";
import type { Checkpoint, MigrationStatus } from "../../src/model/status.js";
import { albMigration, albSeed } from "../fixtures/alb/seed.js";
import { trafficSeed } from "../fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { type BundledActionRun, runBundledAction } from "../support/run-action.js";

let sandbox: Sandbox;
let elbv2: ElasticLoadBalancingV2Client;
let router: AlbRouterSpec;
let url: string;

function action(
  name: "shift-traffic" | "rollback",
  workspace: TrafficWorkspace,
  inputs: Record<string, string>,
) {
  return runBundledAction(name, { inputs, env: sandbox.env, workspace: workspace.dir, timeoutMs: 30_000 });
}

async function weights(): Promise<number[]> {
  const listener = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [router.listenerArn] })))
    .Listeners![0]!;
  return (listener.DefaultActions?.[0]?.ForwardConfig?.TargetGroups ?? []).map((group) => group.Weight ?? -1);
}

beforeAll(async () => {
  const seed = albSeed();
  // The traffic seed's backends, reached through the load balancer's listener 80 and keyed by target group.
  const backends = trafficSeed().dataPlane![0]!.backends;
  seed.dataPlane = [
    {
      recordName: "orders-alb.example.com",
      loadBalancer: { name: "orders", port: 80 },
      backends: { "orders-ecs": backends["ecs-fargate"]!, "orders-lambda": backends.lambda! },
    },
  ];
  sandbox = await startSandbox({ seed });
  url = sandbox.dataPlaneUrls["orders-alb.example.com"]!;
  elbv2 = new ElasticLoadBalancingV2Client({
    endpoint: sandbox.endpoint,
    region: "us-east-1",
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY!,
    },
  });
  const balancer = (await elbv2.send(new DescribeLoadBalancersCommand({ Names: ["orders"] })))
    .LoadBalancers![0]!;
  const listener = (
    await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: balancer.LoadBalancerArn! }))
  ).Listeners!.find((candidate) => candidate.Port === 80)!;
  const groups = (await elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups!;
  const arn = (name: string) => groups.find((group) => group.TargetGroupName === name)!.TargetGroupArn!;
  router = {
    kind: "alb",
    listenerArn: listener.ListenerArn!,
    oldTargetGroupArn: arn("orders-ecs"),
    newTargetGroupArn: arn("orders-lambda"),
  };
});

afterAll(async () => {
  elbv2?.destroy();
  await sandbox?.close();
});

describe("an ALB migration through the bundled actions", () => {
  it("shifts under traffic with the data plane following at once, then rolls back with no failed request", async () => {
    const workspace = new TrafficWorkspace(albMigration(router));
    const traffic = startTraffic({ url, rps: 40, durationMs: 20_000 });
    let shift: BundledActionRun;
    let back: BundledActionRun;
    let afterShift: Record<string, number>;
    try {
      shift = await action("shift-traffic", workspace, { migration: "orders-api", phase: "canary-50" });
      expect(shift.exitCode, shift.stdout + shift.stderr).toBe(0);
      const atShift = traffic.snapshot().byBackend;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const now = traffic.snapshot().byBackend;
      afterShift = {
        "orders-ecs": (now["orders-ecs"] ?? 0) - (atShift["orders-ecs"] ?? 0),
        "orders-lambda": (now["orders-lambda"] ?? 0) - (atShift["orders-lambda"] ?? 0),
      };
      workspace.commitMove("canary-50", shift.outputs);
      back = await action("rollback", workspace, { migration: "orders-api", reason: "error rate 3 % > 2 %" });
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await traffic.stop();
    }
    const report = traffic.snapshot();
    expect(report.failures, JSON.stringify(report.failureReasons)).toBe(0);
    expect(report.serverErrors, JSON.stringify(report.byStatus)).toBe(0);
    // No DNS cache between the change and the requests: the next second already splits.
    expect(afterShift["orders-lambda"]).toBeGreaterThan(5);
    expect(afterShift["orders-ecs"]).toBeGreaterThan(5);
    expect(JSON.parse(shift.outputs.weights!)).toEqual({ old: 50, new: 50 });
    // The gate window starts when the change returned (no stickiness): no TTL to wait out.
    expect(shift.outputs["gate-window-start"]).toBe(shift.outputs["insync-at"]);
    const checkpoint = JSON.parse(shift.outputs.checkpoint!) as Checkpoint;
    expect(checkpoint.router).toMatchObject({ kind: "alb", targetGroups: [{ weight: 100 }, { weight: 0 }] });
    expect(shift.summary).toContain('target group "orders-ecs" weight 100');
    expect(back.exitCode, back.stdout + back.stderr).toBe(0);
    expect(JSON.parse(back.outputs.weights!)).toEqual({ old: 100, new: 0 });
    expect(await weights()).toEqual([100, 0]);
    const status: MigrationStatus = workspace.readStatus();
    expect(status.version).toBe(2);
  });

  it("refuses a listener whose forward has one target group, naming it, and changes nothing", async () => {
    const single = (
      await elbv2.send(
        new DescribeListenersCommand({
          LoadBalancerArn: router.listenerArn
            .replace(":listener/", ":loadbalancer/")
            .replace(/\/[0-9a-f]{16}$/, ""),
        }),
      )
    ).Listeners!.find((listener) => listener.Port === 8080)!;
    const workspace = new TrafficWorkspace(albMigration({ ...router, listenerArn: single.ListenerArn! }));
    const run = await action("shift-traffic", workspace, { migration: "orders-api", weight: "10" });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`forwards to one target group only (${router.oldTargetGroupArn})`);
    expect(await weights()).toEqual([100, 0]);
  });
});
