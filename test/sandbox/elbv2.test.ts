// The sandbox's ELBv2 through the real SDK client (AWS Query protocol, XML):
// what it answers, and what it refuses as AWS does.

import { ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import {
  type Action,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeQuery } from "../../sandbox/elbv2.js";
import type { Sandbox } from "../../sandbox/index.js";
import { SeedError, validateSeed } from "../../sandbox/seed.js";
import { albSeed } from "../fixtures/alb/seed.js";
import { clientConfig, rejectionOf, startTestSandbox } from "../fixtures/sandbox/control-plane.js";

let sandbox: Sandbox;
let elbv2: ElasticLoadBalancingV2Client;
let arns: {
  loadBalancer: string;
  listener: string;
  single: string;
  ecs: string;
  lambda: string;
  legacy: string;
};

async function start(): Promise<void> {
  sandbox = await startTestSandbox(albSeed());
  elbv2 = new ElasticLoadBalancingV2Client(clientConfig(sandbox));
  const balancers = await elbv2.send(new DescribeLoadBalancersCommand({ Names: ["orders"] }));
  const loadBalancer = balancers.LoadBalancers![0]!.LoadBalancerArn!;
  const listeners = await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancer }));
  const groups = await elbv2.send(new DescribeTargetGroupsCommand({}));
  const group = (name: string) =>
    groups.TargetGroups!.find((candidate) => candidate.TargetGroupName === name)!.TargetGroupArn!;
  arns = {
    loadBalancer,
    listener: listeners.Listeners!.find((listener) => listener.Port === 80)!.ListenerArn!,
    single: listeners.Listeners!.find((listener) => listener.Port === 8080)!.ListenerArn!,
    ecs: group("orders-ecs"),
    lambda: group("orders-lambda"),
    legacy: group("orders-legacy"),
  };
}

beforeAll(start);
afterAll(async () => sandbox?.close());

const forward = (
  groups: Array<[string, number]>,
  stickiness?: { Enabled: boolean; DurationSeconds?: number },
): Action => ({
  Type: "forward",
  ForwardConfig: {
    TargetGroups: groups.map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })),
    ...(stickiness ? { TargetGroupStickinessConfig: stickiness } : {}),
  },
});

describe("ELBv2 reads", () => {
  it("describes the load balancer, its listeners and a weighted forward as AWS shapes them", async () => {
    expect(arns.loadBalancer).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer\/app\/orders\/[0-9a-f]{16}$/,
    );
    expect(arns.listener).toMatch(/:listener\/app\/orders\/[0-9a-f]{16}\/[0-9a-f]{16}$/);
    const listener = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [arns.listener] })))
      .Listeners![0]!;
    expect(listener).toMatchObject({ Port: 80, Protocol: "HTTP", LoadBalancerArn: arns.loadBalancer });
    expect(listener.DefaultActions).toEqual([
      {
        Type: "forward",
        Order: 1,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: arns.ecs, Weight: 100 },
            { TargetGroupArn: arns.lambda, Weight: 0 },
          ],
          TargetGroupStickinessConfig: { Enabled: false },
        },
      },
    ]);
    // A forward to one group also carries its ARN on the action, as AWS answers.
    const single = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [arns.single] })))
      .Listeners![0]!;
    expect(single.DefaultActions?.[0]?.TargetGroupArn).toBe(arns.ecs);
  });

  it("lists a listener's rules by priority with the default rule last", async () => {
    const rules = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: arns.listener }))).Rules!;
    expect(rules.map((rule) => [rule.Priority, rule.IsDefault])).toEqual([
      ["10", false],
      ["20", false],
      ["default", true],
    ]);
    expect(rules[0]!.Conditions?.[0]).toMatchObject({ Field: "path-pattern", Values: ["/orders/*"] });
    const again = await elbv2.send(new DescribeRulesCommand({ RuleArns: [rules[2]!.RuleArn!] }));
    expect(again.Rules?.[0]?.IsDefault).toBe(true);
  });

  it("pages with PageSize and NextMarker", async () => {
    const first = await elbv2.send(new DescribeRulesCommand({ ListenerArn: arns.listener, PageSize: 2 }));
    expect(first.Rules).toHaveLength(2);
    const second = await elbv2.send(
      new DescribeRulesCommand({ ListenerArn: arns.listener, PageSize: 2, Marker: first.NextMarker! }),
    );
    expect(second.Rules?.map((rule) => rule.Priority)).toEqual(["default"]);
    expect(second.NextMarker).toBeUndefined();
  });

  it("reports target health from the world: one healthy target per running task, the Lambda target with checks off", async () => {
    const ecsHealth = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.ecs }));
    expect(ecsHealth.TargetHealthDescriptions?.map((target) => target.TargetHealth?.State)).toEqual([
      "healthy",
      "healthy",
    ]);
    const lambdaHealth = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.lambda }));
    expect(lambdaHealth.TargetHealthDescriptions).toEqual([
      {
        Target: { Id: "arn:aws:lambda:us-east-1:123456789012:function:orders-api" },
        TargetHealth: {
          State: "unavailable",
          Reason: "Target.HealthCheckDisabled",
          Description: "Health checks are disabled",
        },
      },
    ]);
    const ecs = new ECSClient(clientConfig(sandbox));
    await ecs.send(new UpdateServiceCommand({ cluster: "prod", service: "orders-api", desiredCount: 0 }));
    for (let attempt = 0; attempt < 50; attempt++) {
      const health = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.ecs }));
      if (health.TargetHealthDescriptions?.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const drained = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.ecs }));
    expect(drained.TargetHealthDescriptions).toEqual([]);
    await ecs.send(new UpdateServiceCommand({ cluster: "prod", service: "orders-api", desiredCount: 2 }));
  });

  it("describes target groups with the load balancers that use them", async () => {
    const groups = await elbv2.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [arns.ecs, arns.legacy] }),
    );
    expect(
      groups.TargetGroups?.map((group) => [group.TargetGroupName, group.TargetType, group.LoadBalancerArns]),
    ).toEqual([
      ["orders-ecs", "ip", [arns.loadBalancer]],
      ["orders-legacy", "ip", []],
    ]);
  });
});

describe("ELBv2 writes", () => {
  beforeEach(async () => {
    await sandbox.close();
    await start();
  });

  it("ModifyListener replaces the default actions, weights and stickiness as given", async () => {
    const output = await elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: arns.listener,
        DefaultActions: [
          forward(
            [
              [arns.ecs, 90],
              [arns.lambda, 10],
            ],
            { Enabled: true, DurationSeconds: 300 },
          ),
        ],
      }),
    );
    expect(output.Listeners?.[0]?.DefaultActions?.[0]?.ForwardConfig).toEqual({
      TargetGroups: [
        { TargetGroupArn: arns.ecs, Weight: 90 },
        { TargetGroupArn: arns.lambda, Weight: 10 },
      ],
      TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
    });
    const listener = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [arns.listener] })))
      .Listeners![0]!;
    expect(listener.DefaultActions?.[0]?.ForwardConfig?.TargetGroups?.map((group) => group.Weight)).toEqual([
      90, 10,
    ]);
    expect(listener.Port).toBe(80);
  });

  it("ModifyRule replaces a rule's actions and keeps its conditions", async () => {
    const rules = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: arns.listener }))).Rules!;
    const output = await elbv2.send(
      new ModifyRuleCommand({
        RuleArn: rules[0]!.RuleArn!,
        Actions: [
          forward([
            [arns.ecs, 50],
            [arns.lambda, 50],
          ]),
        ],
      }),
    );
    expect(
      output.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups?.map((group) => group.Weight),
    ).toEqual([50, 50]);
    expect(output.Rules?.[0]?.Conditions?.[0]?.Values).toEqual(["/orders/*"]);
  });

  it("routes each request by the current weights at once", async () => {
    const count = (random: () => number) => {
      const counts: Record<string, number> = {};
      for (let index = 0; index < 1000; index++) {
        const group = sandbox.elbv2.route("orders", 80, "/orders", random()) ?? "none";
        counts[group] = (counts[group] ?? 0) + 1;
      }
      return counts;
    };
    let state = 1;
    const random = () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    };
    expect(count(random)).toEqual({ "orders-ecs": 1000 });
    await elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: arns.listener,
        DefaultActions: [
          forward([
            [arns.ecs, 75],
            [arns.lambda, 25],
          ]),
        ],
      }),
    );
    const split = count(random);
    expect(split["orders-lambda"]).toBeGreaterThan(200);
    expect(split["orders-lambda"]).toBeLessThan(300);
    // A rule's own forward decides for the paths it matches; a fixed response routes nowhere.
    expect(sandbox.elbv2.route("orders", 80, "/orders/7", 0.99)).toBe("orders-ecs");
    expect(sandbox.elbv2.route("orders", 80, "/admin/users", 0.5)).toBeUndefined();
  });
});

describe("ELBv2 refusals", () => {
  const refused = async (promise: Promise<unknown>, name: string, message: RegExp) => {
    const error = await rejectionOf(promise);
    expect(error.name).toBe(name);
    expect(error.message).toMatch(message);
    expect(error.$metadata?.httpStatusCode).toBe(400);
  };
  const modify = (actions: Action[]) =>
    elbv2.send(new ModifyListenerCommand({ ListenerArn: arns.listener, DefaultActions: actions }));

  it("a weight outside 0–999", async () => {
    await refused(
      modify([
        forward([
          [arns.ecs, 1000],
          [arns.lambda, 0],
        ]),
      ]),
      "ValidationError",
      /defaultActions\.1\.member\.forwardConfig\.targetGroups\.1\.member\.weight.*between 0 and 999/,
    );
  });

  it("more than 5 target groups, or one named twice", async () => {
    const six = Array.from({ length: 6 }, (): [string, number] => [arns.ecs, 1]);
    await refused(modify([forward(six)]), "ValidationError", /at most 5 target groups/);
    await refused(
      modify([
        forward([
          [arns.ecs, 1],
          [arns.ecs, 1],
        ]),
      ]),
      "ValidationError",
      /specified more than once/,
    );
  });

  it("a stickiness duration outside 1–604800 s", async () => {
    await refused(
      modify([
        forward(
          [
            [arns.ecs, 1],
            [arns.lambda, 1],
          ],
          { Enabled: true, DurationSeconds: 604_801 },
        ),
      ]),
      "ValidationError",
      /between 1 and 604800 seconds/,
    );
  });

  it("unknown target groups, listeners and rules", async () => {
    const unknownGroup = arns.ecs.replace(/[0-9a-f]{16}$/, "0000000000000000");
    await refused(
      modify([
        forward([
          [arns.ecs, 1],
          [unknownGroup, 1],
        ]),
      ]),
      "TargetGroupNotFoundException",
      /not found/,
    );
    const unknownListener = arns.listener.replace(/[0-9a-f]{16}$/, "0000000000000000");
    await refused(
      elbv2.send(new DescribeListenersCommand({ ListenerArns: [unknownListener] })),
      "ListenerNotFoundException",
      /listeners not found/,
    );
    await refused(
      elbv2.send(
        new ModifyRuleCommand({
          RuleArn: `${arns.listener.replace(":listener/", ":listener-rule/")}/0000000000000000`,
          Actions: [],
        }),
      ),
      "RuleNotFoundException",
      /rules not found/,
    );
    await refused(
      elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: unknownGroup })),
      "TargetGroupNotFoundException",
      /not found/,
    );
  });

  it("the default rule's actions through ModifyRule", async () => {
    const rules = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: arns.listener }))).Rules!;
    await refused(
      elbv2.send(
        new ModifyRuleCommand({
          RuleArn: rules.at(-1)!.RuleArn!,
          Actions: [
            forward([
              [arns.ecs, 1],
              [arns.lambda, 1],
            ]),
          ],
        }),
      ),
      "OperationNotPermittedException",
      /use ModifyListener/,
    );
  });

  it("a terminal action that is not last, an unknown type, and no action", async () => {
    await refused(
      modify([
        {
          ...forward([
            [arns.ecs, 1],
            [arns.lambda, 1],
          ]),
          Order: 1,
        },
        { Type: "fixed-response", Order: 2, FixedResponseConfig: { StatusCode: "503" } },
      ]),
      "InvalidLoadBalancerActionException",
      /exactly one forward, redirect or fixed-response action/,
    );
    await refused(modify([{ Type: "teleport" as never }]), "ValidationError", /enum value set/);
    await refused(modify([]), "ValidationError", /At least one action/);
  });

  it("changes nothing when it refuses", async () => {
    const weights = async () =>
      (
        await elbv2.send(new DescribeListenersCommand({ ListenerArns: [arns.listener] }))
      ).Listeners![0]!.DefaultActions?.[0]?.ForwardConfig?.TargetGroups?.map((group) => group.Weight);
    const before = await weights();
    expect(before).toHaveLength(2);
    await rejectionOf(
      modify([
        forward([
          [arns.ecs, 1],
          [arns.lambda, 5000],
        ]),
      ]),
    );
    expect(await weights()).toEqual(before);
  });

  it("another API version or an unknown action, on the wire", async () => {
    const post = (body: string) =>
      fetch(sandbox.endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded; charset=utf-8",
          authorization:
            "AWS4-HMAC-SHA256 Credential=AKIASANDBOX000000000/20300101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=0",
        },
        body,
      });
    const wrongVersion = await post("Action=DescribeLoadBalancers&Version=2012-06-01");
    expect(wrongVersion.status).toBe(400);
    expect(await wrongVersion.text()).toMatch(/<Code>InvalidAction<\/Code>/);
    const unknown = await post("Action=DeleteLoadBalancer&Version=2015-12-01");
    expect(await unknown.text()).toMatch(/<Code>InvalidAction<\/Code>[\s\S]*DeleteLoadBalancer is not valid/);
  });

  it("a seed whose forward names an undeclared target group, with the path", () => {
    const seed = albSeed();
    seed.elbv2!.loadBalancers[0]!.listeners[0]!.defaultActions = [
      { type: "forward", targetGroups: [{ name: "nope" }] },
    ];
    const error = (() => {
      try {
        validateSeed(seed);
      } catch (thrown) {
        return thrown as SeedError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SeedError);
    expect(error?.problems).toContainEqual({
      path: "$.elbv2.loadBalancers[0].listeners[0].defaultActions[0].targetGroups[0].name",
      message: '"nope" is not a target group declared under targetGroups',
    });
  });
});

describe("a data plane routed by a listener", () => {
  it("must name a declared listener and key its backends by declared target groups", () => {
    const seed = albSeed();
    seed.dataPlane = [
      {
        recordName: "orders-alb.example.com",
        loadBalancer: { name: "orders", port: 81 },
        backends: {
          "orders-api": { kind: "lambda", functionName: "orders-api", alias: "live", apiId: "a", stage: "s" },
        },
      },
    ];
    const problems = (() => {
      try {
        validateSeed(seed);
        return [];
      } catch (thrown) {
        return (thrown as SeedError).problems.map((problem) => problem.path);
      }
    })();
    expect(problems).toEqual(["$.dataPlane[0].loadBalancer", '$.dataPlane[0].backends["orders-api"]']);
  });
});

describe("the Query decoder", () => {
  it("turns member lists into arrays in index order and keeps values as strings", () => {
    expect(
      decodeQuery(
        "Action=ModifyListener&Version=2015-12-01&ListenerArn=a&DefaultActions.member.2.Type=fixed-response&" +
          "DefaultActions.member.1.Type=forward&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight=5",
      ),
    ).toEqual({
      action: "ModifyListener",
      version: "2015-12-01",
      input: {
        ListenerArn: "a",
        DefaultActions: [
          { Type: "forward", ForwardConfig: { TargetGroups: [{ Weight: "5" }] } },
          { Type: "fixed-response" },
        ],
      },
    });
    expect(decodeQuery("Action=ModifyRule&Actions=").input).toEqual({ Actions: [] });
  });
});
