import { describe, expect, it } from "vitest";
import { type GatePlan, planGate } from "../../src/core/gate/plan.js";
import { customDefinition, presetDefinition } from "../../src/core/gate/presets.js";
import type { MetricQuery } from "../../src/core/gate/queries.js";
import { resolveGateWindow } from "../../src/core/gate/window.js";
import type { GateSpec, LambdaTargetSpec } from "../../src/model/spec.js";
import { referenceMigration, standardGate } from "../fixtures/gate/migration.js";

const window = resolveGateWindow({
  mode: "bake",
  now: new Date("2026-03-03T10:00:00Z"),
  periodSeconds: 60,
  gateStartsAt: new Date("2026-03-01T10:00:00Z"),
});
const location = { gate: "g", index: 0 };

function byId(plan: GatePlan, id: string): MetricQuery {
  const query = plan.queries.find((q) => q.id === id);
  if (!query) throw new Error(`no query ${id}`);
  return query;
}

describe("presets", () => {
  const migration = referenceMigration();

  it("error rate on an HTTP API: 5xx / Count with FILL for quiet minutes and no datapoint where Count is 0", () => {
    const definition = presetDefinition("error-rate", migration.newSide, "new", location);
    expect(definition.inputs).toEqual({
      errors: {
        namespace: "AWS/ApiGateway",
        metricName: "5xx",
        dimensions: { ApiId: "a1b2c3d4e5", Stage: "$default" },
        stat: "Sum",
      },
      requests: {
        namespace: "AWS/ApiGateway",
        metricName: "Count",
        dimensions: { ApiId: "a1b2c3d4e5", Stage: "$default" },
        stat: "Sum",
      },
    });
    expect(definition.expression).toBe("IF(requests > 0, FILL(errors, 0) / requests)");
    expect(definition.unit).toBe("fraction");
  });

  it("error rate on a REST API reads 5XXError by ApiName and Stage", () => {
    const rest: LambdaTargetSpec = {
      kind: "lambda",
      functionName: "orders-api",
      alias: "live",
      telemetry: { kind: "apigateway-rest" as const, apiName: "orders", stage: "prod" },
    };
    const definition = presetDefinition("error-rate", rest, "new", location);
    expect(definition.inputs.errors).toMatchObject({
      metricName: "5XXError",
      dimensions: { ApiName: "orders", Stage: "prod" },
    });
  });

  it("ALB latency converts TargetResponseTime from seconds to milliseconds with metric math", () => {
    const definition = presetDefinition("latency-p95", migration.oldSide, "old", location);
    expect(definition.inputs.latency).toEqual({
      namespace: "AWS/ApplicationELB",
      metricName: "TargetResponseTime",
      dimensions: {
        LoadBalancer: "app/orders-api/50dc6c495c0c9188",
        TargetGroup: "targetgroup/orders-api/73e2d6bc24d8a067",
      },
      stat: "p95",
    });
    expect(definition.expression).toBe("latency * 1000");
    expect(definition.unit).toBe("ms");
    expect(definition.missingMeansZero).toBe(false);
  });

  it("API Gateway latency is already in milliseconds: no expression", () => {
    const definition = presetDefinition("latency-p99", migration.newSide, "new", location);
    expect(definition.expression).toBeUndefined();
    expect(definition.inputs.latency?.stat).toBe("p99");
  });

  it("ALB error rate reads HTTPCode_Target_5XX_Count / RequestCount", () => {
    const definition = presetDefinition("error-rate", migration.oldSide, "old", location);
    expect(definition.inputs.errors?.metricName).toBe("HTTPCode_Target_5XX_Count");
    expect(definition.inputs.requests?.metricName).toBe("RequestCount");
  });

  it("Lambda presets use the alias dimension; DB pool divides connections by the allowed maximum", () => {
    expect(presetDefinition("throttles", migration.newSide, "new", location).inputs.throttles).toMatchObject({
      namespace: "AWS/Lambda",
      metricName: "Throttles",
      dimensions: { FunctionName: "orders-api", Resource: "orders-api:live" },
    });
    expect(presetDefinition("concurrency", migration.newSide, "new", location).inputs.concurrency?.stat).toBe(
      "Maximum",
    );
    const cold = presetDefinition("cold-starts", migration.newSide, "new", location);
    expect(cold.expression).toBe("IF(invocations > 0, FILL(cold, 0) / invocations)");
    const pool = presetDefinition("db-connection-pool", migration.newSide, "new", location);
    expect(pool.inputs.connections).toMatchObject({
      namespace: "AWS/RDS",
      metricName: "DatabaseConnections",
      dimensions: { ProxyName: "orders-db-proxy" },
    });
    expect(pool.inputs.allowed?.metricName).toBe("MaxDatabaseConnectionsAllowed");
    const errors = presetDefinition("lambda-error-rate", migration.newSide, "new", location);
    expect(errors.inputs.errors).toMatchObject({
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: "orders-api", Resource: "orders-api:live" },
      stat: "Sum",
    });
    expect(errors.inputs.invocations?.metricName).toBe("Invocations");
    expect(errors.expression).toBe("IF(invocations > 0, FILL(errors, 0) / invocations)");
    const duration = presetDefinition("lambda-duration-p95", migration.newSide, "new", location);
    expect(duration.inputs.duration).toMatchObject({
      namespace: "AWS/Lambda",
      metricName: "Duration",
      stat: "p95",
    });
    expect(duration).toMatchObject({ unit: "ms", missingMeansZero: false });
    expect(() =>
      presetDefinition("lambda-error-rate", migration.oldSide, "old", { gate: "standard", index: 0 }),
    ).toThrow(/preset "lambda-error-rate" reads AWS\/Lambda metrics, but the old side is ecs/);
  });

  it("refuses Lambda presets on an ECS side and the pool preset without an RDS Proxy, naming the metric", () => {
    expect(() =>
      presetDefinition("throttles", migration.oldSide, "old", { gate: "standard", index: 3 }),
    ).toThrow(
      /gates\.standard\.metrics\[3\]: preset "throttles" reads AWS\/Lambda metrics, but the old side is ecs/,
    );
    const noProxy = { ...migration.newSide, rdsProxy: undefined };
    expect(() => presetDefinition("db-connection-pool", noProxy, "new", location)).toThrow(
      /needs newSide\.rdsProxy/,
    );
  });

  it("custom metrics: checks ids, stats and the references of the expression", () => {
    const ok = customDefinition(
      {
        queries: {
          errors: {
            namespace: "AWS/Lambda",
            metricName: "Errors",
            dimensions: { FunctionName: "f" },
            stat: "Sum",
          },
          calls: {
            namespace: "AWS/Lambda",
            metricName: "Invocations",
            dimensions: { FunctionName: "f" },
            stat: "Sum",
          },
        },
        expression: "errors / calls",
      },
      location,
    );
    expect(Object.keys(ok.inputs)).toEqual(["errors", "calls"]);
    expect(() =>
      customDefinition(
        {
          queries: { a: { namespace: "N", metricName: "M", dimensions: {}, stat: "Sum" } },
          expression: "a / b",
        },
        location,
      ),
    ).toThrow(/refers to "b", which metric.queries does not define/);
    expect(() =>
      customDefinition(
        { queries: { Bad: { namespace: "N", metricName: "M", dimensions: {}, stat: "Sum" } } },
        location,
      ),
    ).toThrow(/metric.queries.Bad: ids start with a lowercase letter/);
    expect(() =>
      customDefinition(
        { queries: { a: { namespace: "N", metricName: "M", dimensions: {}, stat: "Median" } } },
        location,
      ),
    ).toThrow(/stat "Median"/);
    expect(() =>
      customDefinition(
        {
          queries: {
            a: { namespace: "N", metricName: "M", dimensions: {}, stat: "Sum" },
            b: { namespace: "N", metricName: "M", dimensions: {}, stat: "Sum" },
          },
        },
        location,
      ),
    ).toThrow(/2 queries and no expression/);
  });
});

describe("planGate", () => {
  it("asks each metric per period and over the whole window, with unique valid ids", () => {
    const plan = planGate(referenceMigration(), "standard", window);
    const ids = plan.queries.map((q) => q.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
    const errorRate = plan.metrics[0]!;
    const series = byId(plan, errorRate.value.seriesId);
    const whole = byId(plan, errorRate.value.windowId);
    expect(series.kind).toBe("expression");
    expect(whole.kind).toBe("expression");
    const periods = (q: MetricQuery) => (q.kind === "stat" ? q.period : undefined);
    const inputsOf = (expression: MetricQuery) =>
      plan.queries.filter(
        (q) =>
          q.kind === "stat" &&
          expression.kind === "expression" &&
          new RegExp(`\\b${q.id}\\b`).test(expression.expression),
      );
    expect(inputsOf(series).map(periods)).toEqual([60, 60]);
    expect(inputsOf(whole).map(periods)).toEqual([172_800, 172_800]);
  });

  it("fetches the request count once: the error-rate denominator and the sample count share a query", () => {
    const plan = planGate(referenceMigration(), "standard", window);
    const counts = plan.queries.filter(
      (q) => q.kind === "stat" && q.metricName === "Count" && q.period === 60,
    );
    expect(counts).toHaveLength(1);
    expect(counts[0]!.returnData).toBe(true);
    expect(plan.samples.new?.seriesId).toBe(counts[0]!.id);
  });

  it("plans the old side when a metric compares with it, and converts its latency to ms", () => {
    const plan = planGate(referenceMigration(), "standard", window);
    const latency = plan.metrics[1]!;
    const oldSeries = byId(plan, latency.oldValue!.seriesId);
    expect(oldSeries).toMatchObject({ kind: "expression" });
    expect(oldSeries.kind === "expression" && oldSeries.expression).toMatch(/^g_o1_latency_s \* 1000$/);
    expect(plan.samples.old).toBeDefined();
  });

  it("without comparisons the old side is not queried at all", () => {
    const gate: GateSpec = {
      ...standardGate,
      metrics: standardGate.metrics.map(({ compareToOld: _c, ...m }) => m),
    };
    const plan = planGate(referenceMigration({ standard: gate }), "standard", window);
    expect(plan.samples.old).toBeUndefined();
    expect(plan.queries.some((q) => q.kind === "stat" && q.namespace === "AWS/ApplicationELB")).toBe(false);
  });

  it("custom expressions are rewritten to the plan's ids", () => {
    const gate: GateSpec = {
      period: "1m",
      minSamples: 1,
      metrics: [
        {
          name: "lambda-errors",
          metric: {
            queries: {
              errors: {
                namespace: "AWS/Lambda",
                metricName: "Errors",
                dimensions: { FunctionName: "orders-api" },
                stat: "Sum",
              },
              calls: {
                namespace: "AWS/Lambda",
                metricName: "Invocations",
                dimensions: { FunctionName: "orders-api" },
                stat: "Sum",
              },
            },
            expression: "IF(calls > 0, FILL(errors, 0) / calls)",
          },
          pass: { max: 0.01 },
        },
      ],
    };
    const plan = planGate(referenceMigration({ custom: gate }), "custom", window, "m7");
    const series = byId(plan, plan.metrics[0]!.value.seriesId);
    expect(series.kind === "expression" && series.expression).toBe(
      "IF(m7_n0_calls_s > 0, FILL(m7_n0_errors_s, 0) / m7_n0_calls_s)",
    );
  });

  it("cost adds Lambda Invocations and Duration over the window, and needs a cost section", () => {
    const gate: GateSpec = { ...standardGate, checkCost: true };
    const plan = planGate(referenceMigration({ standard: gate }), "standard", window);
    expect(plan.cost?.kind).toBe("lambda");
    const migration = { ...referenceMigration({ standard: gate }), cost: undefined };
    expect(() => planGate(migration, "standard", window)).toThrow(
      /checkCost is true but the migration "orders-api" has no cost/,
    );
  });

  it("names the gates that exist when asked for an unknown one", () => {
    expect(() => planGate(referenceMigration(), "nope", window)).toThrow(
      /has no gate "nope"; it defines "standard"/,
    );
  });
});
