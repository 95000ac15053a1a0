import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { MigrationsFile, Route53RouterSpec } from "../../src/model/spec.js";
import {
  configFromFile,
  FIXTURES,
  one,
  resources,
  type StackJson,
  statements,
  synthesize,
  tf,
} from "./support/synth.js";

const PARTITION = tf("data.aws_partition.partition.partition");
const ACCOUNT = tf("data.aws_caller_identity.current.account_id");

const CONFIG = join(FIXTURES, "two-migrations.config.json");
const spec = JSON.parse(readFileSync(join(FIXTURES, "two-migrations.json"), "utf8")) as MigrationsFile;
const ids = spec.migrations.map((migration) => migration.id);

/**
 * Strings that identify one migration's own things: any of them inside the other
 * migration's resources is a leak. (Set identifiers such as "lambda" are ordinary
 * words; they are checked per record instead.)
 */
function identifiers(id: string): string[] {
  const migration = spec.migrations.find((candidate) => candidate.id === id)!;
  const oldSide = migration.oldSide as { service: string; telemetry: { loadBalancer: string } };
  const newSide = migration.newSide as { functionName: string };
  return [
    id,
    `${id}_`,
    (migration.router as Route53RouterSpec).recordName,
    (migration.router as Route53RouterSpec).hostedZoneId,
    oldSide.service,
    oldSide.telemetry.loadBalancer,
    newSide.functionName,
  ];
}

/** Every resource and data source of the stack as [kind, logical id, body]. */
function everything(stack: StackJson): [string, string, Record<string, unknown>][] {
  const out: [string, string, Record<string, unknown>][] = [];
  for (const [type, entries] of Object.entries(stack.resource)) {
    for (const [id, body] of Object.entries(entries)) out.push([type, id, body]);
  }
  for (const [type, entries] of Object.entries(stack.data)) {
    for (const [id, body] of Object.entries(entries)) out.push([`data.${type}`, id, body]);
  }
  return out;
}

/** Types whose names only need to be unique within their parent (record pair, API, function, role). */
const NAMES_SCOPED_TO_A_PARENT = new Set([
  "aws_route53_record",
  "aws_apigatewayv2_stage",
  "aws_lambda_alias",
  "aws_iam_role_policy",
]);

let stack: StackJson;

beforeAll(() => {
  const stacks = synthesize(join(FIXTURES, "two-migrations.json"), configFromFile(CONFIG));
  expect([...stacks.keys()]).toEqual(["production"]);
  stack = stacks.get("production")!;
});

describe("a spec with two migrations", () => {
  it("yields the full set of resources for each migration", () => {
    const perMigration = [
      ["aws_route53_record", 2],
      ["aws_lambda_function", 1],
      ["aws_lambda_alias", 1],
      ["aws_lambda_permission", 2],
      ["aws_apigatewayv2_api", 1],
      ["aws_apigatewayv2_integration", 1],
      ["aws_apigatewayv2_route", 1],
      ["aws_apigatewayv2_stage", 1],
      ["aws_apigatewayv2_domain_name", 1],
      ["aws_apigatewayv2_api_mapping", 1],
      ["aws_cloudwatch_dashboard", 1],
      ["aws_cloudwatch_event_rule", 1],
      ["aws_cloudwatch_event_target", 2],
    ] as const;
    for (const id of ids) {
      for (const [type, count] of perMigration) {
        expect(
          resources(stack, type).filter(([logical]) => logical.startsWith(`${id}_`)),
          `${id} ${type}`,
        ).toHaveLength(count);
      }
    }
    const setIdentifiers = resources(stack, "aws_route53_record").map(
      ([, record]) => record["set_identifier"],
    );
    expect(setIdentifiers.sort()).toEqual(["ecs-fargate", "lambda", "payments-ecs", "payments-lambda"]);
  });

  it("keeps every resource of one migration free of the other migration's names and references", () => {
    for (const [kind, logical, body] of everything(stack)) {
      const owner = ids.find((id) => logical.startsWith(`${id}_`));
      if (!owner) continue;
      const text = JSON.stringify(body);
      for (const other of ids.filter((id) => id !== owner)) {
        for (const identifier of identifiers(other)) {
          expect(text.includes(identifier), `${kind}.${logical} mentions ${other}'s "${identifier}"`).toBe(
            false,
          );
        }
      }
    }
  });

  it("shares only the stack-wide access and dispatch resources, on purpose", () => {
    const shared = everything(stack)
      .filter(([, logical]) => !ids.some((id) => logical.startsWith(`${id}_`)))
      .map(([kind, logical]) => `${kind}.${logical.replace(/_[0-9A-F]{8}$/, "")}`)
      .sort();
    expect(shared).toEqual(
      [
        "aws_cloudwatch_event_api_destination.github-dispatch_api-destination",
        "aws_cloudwatch_event_connection.github-dispatch_connection",
        "aws_cloudwatch_log_group.guardian_log-group",
        "aws_iam_role.github-access_deploy-role-production",
        "aws_iam_role.github-access_deploy-role-production-decommission",
        "aws_iam_role.github-access_deploy-role-staging",
        "aws_iam_role.github-access_read-only-role",
        "aws_iam_role.guardian_role",
        "aws_iam_role.github-dispatch_invoke-role",
        "aws_iam_role_policy.github-access_deploy-policy-production",
        "aws_iam_role_policy.github-access_deploy-policy-production-decommission",
        "aws_iam_role_policy.github-access_deploy-policy-staging",
        "aws_iam_role_policy.github-access_read-only-policy",
        "aws_iam_role_policy.github-dispatch_invoke-policy",
        "aws_iam_role_policy.guardian_role-policy",
        "aws_lambda_function.guardian_function",
        "aws_lambda_function_event_invoke_config.guardian_event-invoke-config",
        "aws_s3_bucket.guardian_checkpoint-store",
        "aws_s3_bucket_lifecycle_configuration.guardian_checkpoint-store-lifecycle",
        "aws_s3_bucket_ownership_controls.guardian_checkpoint-store-ownership",
        "aws_s3_bucket_policy.guardian_checkpoint-store-policy",
        "aws_s3_bucket_public_access_block.guardian_checkpoint-store-public-access",
        "aws_s3_bucket_server_side_encryption_configuration.guardian_checkpoint-store-encryption",
        "aws_s3_bucket_versioning.guardian_checkpoint-store-versioning",
        "aws_sqs_queue.guardian_dead-letter-queue",
        "aws_sqs_queue_policy.guardian_dead-letter-queue-policy",
        "data.aws_caller_identity.current",
        "data.aws_iam_openid_connect_provider.github-access_github-oidc",
        "data.aws_partition.partition",
      ].sort(),
    );
  });

  it("gives every named AWS resource a distinct name", () => {
    const nameFields = ["name", "function_name", "alarm_name", "dashboard_name", "domain_name"];
    for (const [type, entries] of Object.entries(stack.resource)) {
      const names = Object.values(entries)
        .flatMap((body) => nameFields.map((field) => body[field]))
        .filter((value): value is string => typeof value === "string" && !value.startsWith("${"));
      if (NAMES_SCOPED_TO_A_PARENT.has(type)) continue;
      expect(new Set(names).size, `${type}: ${names.join(", ")}`).toBe(names.length);
    }
  });

  it("sets each migration's alarms at its own gate's thresholds and dispatches only its own alarms", () => {
    const payments = resources(stack, "aws_cloudwatch_metric_alarm").filter(([id]) =>
      id.startsWith("payments-api_"),
    );
    const byMetric = Object.fromEntries(
      payments.map(([, alarm]) => [(alarm["tags"] as Record<string, string>)["cutover:metric"], alarm]),
    );
    expect(Object.keys(byMetric).sort()).toEqual([
      "error-rate",
      "latency-p99",
      "old-latency-p95",
      "traffic-floor",
    ]);
    expect(byMetric["error-rate"]!["threshold"]).toBe(0.01);
    expect(byMetric["latency-p99"]!["threshold"]).toBe(1500);
    expect(byMetric["traffic-floor"]).toMatchObject({
      threshold: 10,
      comparison_operator: "LessThanThreshold",
    });
    // The old side's latency is in seconds at the source: the metric is converted, the threshold stays the spec's.
    const oldLatency = byMetric["old-latency-p95"]!;
    expect(oldLatency["threshold"]).toBe(900);
    const queries = oldLatency["metric_query"] as Record<string, unknown>[];
    expect(queries.find((query) => query["return_data"] === true)!["expression"]).toBe("seconds * 1000");
    expect(queries.find((query) => query["id"] === "seconds")!["metric"]).toMatchObject({
      namespace: "AWS/ApplicationELB",
      metric_name: "TargetResponseTime",
      stat: "p95",
      dimensions: {
        LoadBalancer: "app/payments-api/1111111111111111",
        TargetGroup: "targetgroup/payments-api/2222222222222222",
      },
    });

    for (const id of ids) {
      const rule = one(stack, "aws_cloudwatch_event_rule", `${id}_`);
      const own = resources(stack, "aws_cloudwatch_metric_alarm")
        .filter(([logical]) => logical.startsWith(`${id}_`))
        .map(([, alarm]) => alarm["alarm_name"]);
      expect(own.length).toBeGreaterThan(0);
      const pattern = JSON.parse(String(rule["event_pattern"])) as { detail: { alarmName: string[] } };
      expect(pattern.detail.alarmName).toEqual(own);
    }
  });

  it("grants each deploy role both migrations' resources, each under its own statements", () => {
    const policy = statements(
      one(stack, "aws_iam_role_policy", "github-access_deploy-policy-production_")["policy"],
    );
    const shift = policy.filter((statement) => statement.Sid?.startsWith("ShiftWeights"));
    expect(shift.map((statement) => [statement.Sid, statement.Resource])).toEqual([
      ["ShiftWeightsOrdersApi", [`arn:${PARTITION}:route53:::hostedzone/Z0EXAMPLE00001`]],
      ["ShiftWeightsPaymentsApi", [`arn:${PARTITION}:route53:::hostedzone/Z0EXAMPLE00002`]],
    ]);
    // Only payments-api deploys its old side in production, so only its task role may be passed.
    const passRole = policy.filter((statement) => statement.Action.includes("iam:PassRole"));
    expect(passRole).toHaveLength(1);
    expect(passRole[0]!.Resource).toEqual([`arn:${PARTITION}:iam::${ACCOUNT}:role/payments-task`]);
  });
});
