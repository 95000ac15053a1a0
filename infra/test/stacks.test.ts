import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { MigrationsFile, Route53RouterSpec } from "../../src/model/spec.js";
import { ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS } from "../constructs/github-access.js";
import {
  configFromFile,
  EXAMPLE_SPEC,
  INFRA_DIR,
  logicalId,
  one,
  ref,
  resources,
  type StackJson,
  type Statement,
  statements,
  synthesize,
  tf,
} from "./support/synth.js";

const PARTITION = tf("data.aws_partition.partition.partition");
const ACCOUNT = tf("data.aws_caller_identity.current.account_id");

const spec = JSON.parse(readFileSync(EXAMPLE_SPEC, "utf8")) as MigrationsFile;
const orders = spec.migrations.find((migration) => migration.id === "orders-api")!;
const repo = "repo:example-org/platform-cutover";
const slug = "example-org/platform-cutover";
const REPO_ROOT = join(INFRA_DIR, "..");

let stacks: Map<string, StackJson>;
let production: StackJson;
let staging: StackJson;

beforeAll(() => {
  stacks = synthesize(EXAMPLE_SPEC, configFromFile(join(INFRA_DIR, "config.json")));
  production = stacks.get("production")!;
  staging = stacks.get("staging")!;
});

/** Mutating means anything that is not a Get, List or Describe call. */
function isMutating(action: string): boolean {
  return !/^[a-z0-9-]+:(Get|List|Describe)/.test(action);
}

function rolePolicy(stack: StackJson, rolePrefix: string): Statement[] {
  return statements(one(stack, "aws_iam_role_policy", rolePrefix)["policy"]);
}

function actionsOf(policy: Statement[]): string[] {
  return policy.flatMap((statement) => statement.Action);
}

describe("stacks generated from migrations.json", () => {
  it("makes one stack per configured environment, each with the example migration", () => {
    expect([...stacks.keys()].sort()).toEqual(["production", "staging"]);
    for (const stack of stacks.values()) {
      expect(resources(stack, "aws_lambda_function").map(([id]) => id.split("_")[0])).toEqual([
        "guardian",
        "orders-api",
      ]);
      expect(stack.provider["aws"]![0]!["region"]).toBe("eu-west-1");
    }
  });

  it("creates the weighted record pair with the spec's set identifiers and protects the weights", () => {
    const oldRecord = one(production, "aws_route53_record", "orders-api_records_old-record");
    const newRecord = one(production, "aws_route53_record", "orders-api_records_new-record");
    const router = orders.router as Route53RouterSpec;
    for (const record of [oldRecord, newRecord]) {
      expect(record["zone_id"]).toBe(router.hostedZoneId);
      expect(record["name"]).toBe(router.recordName);
      expect(record["type"]).toBe(router.recordType);
      expect(record["lifecycle"]).toEqual({ ignore_changes: ["weighted_routing_policy"] });
      expect((record["alias"] as Record<string, unknown>)["evaluate_target_health"]).toBe(true);
    }
    expect(oldRecord["set_identifier"]).toBe("ecs-fargate");
    expect(newRecord["set_identifier"]).toBe("lambda");
    expect(oldRecord["weighted_routing_policy"]).toEqual({ weight: 100 });
    expect(newRecord["weighted_routing_policy"]).toEqual({ weight: 0 });

    const domainId = logicalId(production, "aws_apigatewayv2_domain_name", "orders-api_");
    expect(newRecord["alias"]).toMatchObject({
      name: `\${aws_apigatewayv2_domain_name.${domainId}.domain_name_configuration[0].target_domain_name}`,
      zone_id: `\${aws_apigatewayv2_domain_name.${domainId}.domain_name_configuration[0].hosted_zone_id}`,
    });
    const lbId = Object.keys(production.data["aws_lb"]!)[0]!;
    expect(production.data["aws_lb"]![lbId]!["arn"]).toContain(
      ":loadbalancer/app/orders-api/50dc6c495c0c9188",
    );
    expect(oldRecord["alias"]).toMatchObject({
      name: `\${data.aws_lb.${lbId}.dns_name}`,
      zone_id: `\${data.aws_lb.${lbId}.zone_id}`,
    });
  });

  it("gives staging its own record from the configuration, never production's", () => {
    const records = resources(staging, "aws_route53_record").map(([, record]) => record);
    expect(records).toHaveLength(2);
    for (const record of records) {
      expect(record["zone_id"]).toBe("Z0EXAMPLESTG01");
      expect(record["name"]).toBe("api.staging.example.com");
    }
  });

  it("opens the API's direct endpoint only where the new side is load-tested, and outputs it as the load tests' URL", () => {
    const apiOf = (stack: StackJson) => one(stack, "aws_apigatewayv2_api", "orders-api_");
    // Staging load-tests the new side while its weighted record still sends everything to the old side.
    expect(apiOf(staging)["disable_execute_api_endpoint"]).toBe(false);
    const apiId = logicalId(staging, "aws_apigatewayv2_api", "orders-api_");
    expect(staging.output["load_test_url_orders_api"]).toMatchObject({
      value: `\${aws_apigatewayv2_api.${apiId}.api_endpoint}/`,
    });
    // Production has no load tests: clients reach the new side only through the weighted record.
    expect(apiOf(production)["disable_execute_api_endpoint"]).toBe(true);
    expect(production.output["load_test_url_orders_api"]).toBeUndefined();
  });

  it("builds the new side: function, alias, HTTP API integrated with the alias, custom domain and mapping", () => {
    const fn = one(production, "aws_lambda_function", "orders-api_");
    expect(fn["function_name"]).toBe("orders-api");
    expect(fn["memory_size"]).toBe(orders.cost!.lambdaMemoryMb);
    expect(fn["s3_bucket"]).toBe(`${tf("var.lambda_code_bucket")}`);
    expect(fn["s3_key"]).toBe(`${tf("var.code_s3_key_orders_api")}`);
    expect((fn["lifecycle"] as { ignore_changes: string[] }).ignore_changes).toEqual(
      expect.arrayContaining(["s3_key", "source_code_hash"]),
    );

    const alias = one(production, "aws_lambda_alias", "orders-api_");
    const fnId = logicalId(production, "aws_lambda_function", "orders-api_");
    expect(alias["name"]).toBe("live");
    expect(alias["function_version"]).toBe(ref("aws_lambda_function", fnId, "version"));
    expect((alias["lifecycle"] as { ignore_changes: string[] }).ignore_changes).toContain("function_version");

    const aliasId = logicalId(production, "aws_lambda_alias", "orders-api_");
    const apiId = logicalId(production, "aws_apigatewayv2_api", "orders-api_");
    const integration = one(production, "aws_apigatewayv2_integration", "orders-api_");
    expect(integration).toMatchObject({
      api_id: ref("aws_apigatewayv2_api", apiId, "id"),
      integration_type: "AWS_PROXY",
      integration_uri: ref("aws_lambda_alias", aliasId, "arn"),
    });
    const stage = one(production, "aws_apigatewayv2_stage", "orders-api_");
    expect(stage["name"]).toBe("$default");
    const domain = one(production, "aws_apigatewayv2_domain_name", "orders-api_");
    expect(domain["domain_name"]).toBe("api.example.com");
    const mapping = one(production, "aws_apigatewayv2_api_mapping", "orders-api_");
    const domainId = logicalId(production, "aws_apigatewayv2_domain_name", "orders-api_");
    const stageId = logicalId(production, "aws_apigatewayv2_stage", "orders-api_");
    expect(mapping).toEqual({
      api_id: ref("aws_apigatewayv2_api", apiId, "id"),
      domain_name: ref("aws_apigatewayv2_domain_name", domainId, "domain_name"),
      stage: ref("aws_apigatewayv2_stage", stageId, "name"),
    });
    const permission = one(production, "aws_lambda_permission", "orders-api_new-side_");
    expect(permission["qualifier"]).toBe(ref("aws_lambda_alias", aliasId, "name"));
  });
});

describe("rollback alarms", () => {
  it("has one alarm per gate metric with an expressible rollback threshold, at exactly the spec's threshold", () => {
    const gate = orders.gates["standard"]!;
    const alarms = resources(production, "aws_cloudwatch_metric_alarm").map(([, alarm]) => alarm);
    const byMetric = new Map(
      alarms.map((alarm) => [(alarm["tags"] as Record<string, string>)["cutover:metric"], alarm]),
    );
    for (const name of ["error-rate", "latency-p95"]) {
      const metric = gate.metrics.find((candidate) => candidate.name === name)!;
      const alarm = byMetric.get(name)!;
      expect(alarm["threshold"]).toBe(metric.rollback!.max);
      expect(alarm["comparison_operator"]).toBe("GreaterThanThreshold");
      expect(alarm["treat_missing_data"]).toBe("notBreaching");
    }
    // The spec's figures, so a change to the spec that the alarms missed cannot pass unnoticed.
    expect(byMetric.get("error-rate")!["threshold"]).toBe(0.02);
    expect(byMetric.get("latency-p95")!["threshold"]).toBe(1000);
    // cold-starts has no rollback threshold; db-connection-pool has one but no alarm form (reported as a warning).
    expect([...byMetric.keys()].sort()).toEqual(["error-rate", "latency-p95"]);
  });

  it("computes the error rate by metric math over the HTTP API's 5xx and Count, and watches p95 latency", () => {
    const apiId = logicalId(production, "aws_apigatewayv2_api", "orders-api_");
    const errorRate = one(
      production,
      "aws_cloudwatch_metric_alarm",
      "orders-api_rollback-alarms_standard-error-rate",
    );
    const queries = errorRate["metric_query"] as Record<string, unknown>[];
    const returned = queries.filter((query) => query["return_data"] === true);
    expect(returned).toHaveLength(1);
    expect(returned[0]!["expression"]).toBe("FILL(errors, 0) / requests");
    const metricNames = Object.fromEntries(
      queries
        .filter((query) => query["metric"])
        .map((query) => [query["id"], query["metric"] as Record<string, unknown>]),
    );
    expect(metricNames["errors"]).toMatchObject({
      namespace: "AWS/ApiGateway",
      metric_name: "5xx",
      stat: "Sum",
      period: 60,
    });
    expect(metricNames["requests"]).toMatchObject({
      namespace: "AWS/ApiGateway",
      metric_name: "Count",
      stat: "Sum",
    });
    expect(metricNames["errors"]!["dimensions"]).toEqual({
      ApiId: ref("aws_apigatewayv2_api", apiId, "id"),
      Stage: "$default",
    });

    const latency = one(
      production,
      "aws_cloudwatch_metric_alarm",
      "orders-api_rollback-alarms_standard-latency-p95",
    );
    const [latencyQuery] = latency["metric_query"] as Record<string, unknown>[];
    expect(latencyQuery!["metric"]).toMatchObject({ metric_name: "Latency", stat: "p95" });
  });

  it("has no alarms where no phase bakes (staging), and so no dispatch path there", () => {
    expect(resources(staging, "aws_cloudwatch_metric_alarm")).toHaveLength(0);
    expect(resources(staging, "aws_cloudwatch_event_rule")).toHaveLength(0);
    expect(resources(staging, "aws_cloudwatch_event_connection")).toHaveLength(0);
    expect(staging.variable["github_dispatch_token"]).toBeUndefined();
    // The dashboard still shows both sides.
    expect(resources(staging, "aws_cloudwatch_dashboard")).toHaveLength(1);
  });

  it("puts both sides side by side on the dashboard", () => {
    const dashboard = one(production, "aws_cloudwatch_dashboard", "orders-api_");
    expect(dashboard["dashboard_name"]).toBe("cutover-production-orders-api");
    const body = JSON.parse(String(dashboard["dashboard_body"])) as {
      widgets: {
        type: string;
        x: number;
        y: number;
        properties: { metrics?: unknown[][]; alarms?: string[] };
      }[];
    };
    const metricWidgets = body.widgets.filter((widget) => widget.type === "metric");
    const namespaces = (x: number) =>
      new Set(
        metricWidgets
          .filter((widget) => widget.x === x)
          .flatMap((widget) => widget.properties.metrics!.map((line) => line[0]))
          .filter((first) => typeof first === "string"),
      );
    expect([...namespaces(0)]).toEqual(["AWS/ApplicationELB"]);
    expect([...namespaces(12)].sort()).toEqual(["AWS/ApiGateway", "AWS/Lambda"]);
    const rows = new Set(metricWidgets.map((widget) => widget.y));
    for (const y of rows)
      expect(
        metricWidgets
          .filter((widget) => widget.y === y)
          .map((w) => w.x)
          .sort(),
      ).toEqual([0, 12]);
    const alarmWidget = body.widgets.find((widget) => widget.type === "alarm")!;
    expect(alarmWidget.properties.alarms).toHaveLength(2);
  });
});

describe("fast rollback path", () => {
  it("matches exactly the migration's alarms entering ALARM", () => {
    const rule = one(production, "aws_cloudwatch_event_rule", "orders-api_");
    const alarmNames = resources(production, "aws_cloudwatch_metric_alarm").map(
      ([, alarm]) => alarm["alarm_name"],
    );
    expect(JSON.parse(String(rule["event_pattern"]))).toEqual({
      source: ["aws.cloudwatch"],
      "detail-type": ["CloudWatch Alarm State Change"],
      detail: { alarmName: alarmNames, state: { value: ["ALARM"] } },
    });
    expect(alarmNames).toEqual([
      "cutover-production-orders-api-standard-error-rate-rollback-max",
      "cutover-production-orders-api-standard-latency-p95-rollback-max",
    ]);
  });

  it("POSTs a cutover-alarm repository_dispatch naming the migration and the alarm", () => {
    const destination = one(production, "aws_cloudwatch_event_api_destination", "github-dispatch_");
    expect(destination["http_method"]).toBe("POST");
    expect(destination["invocation_endpoint"]).toBe(
      "https://api.github.com/repos/example-org/platform-cutover/dispatches",
    );

    const target = one(
      production,
      "aws_cloudwatch_event_target",
      "orders-api_alarm-dispatch_dispatch-target",
    );
    const destinationId = logicalId(production, "aws_cloudwatch_event_api_destination", "github-dispatch_");
    const roleId = logicalId(production, "aws_iam_role", "github-dispatch_");
    expect(target["arn"]).toBe(ref("aws_cloudwatch_event_api_destination", destinationId, "arn"));
    expect(target["role_arn"]).toBe(ref("aws_iam_role", roleId, "arn"));
    const transformer = target["input_transformer"] as {
      input_paths: Record<string, string>;
      input_template: string;
    };
    expect(transformer.input_paths["alarm"]).toBe("$.detail.alarmName");
    // What EventBridge sends once it has substituted the placeholders with JSON values.
    const body = JSON.parse(
      transformer.input_template
        .replace("<alarm>", JSON.stringify("cutover-production-orders-api-standard-error-rate-rollback-max"))
        .replace("<state>", JSON.stringify("ALARM"))
        .replace("<time>", JSON.stringify("2026-01-01T00:00:00Z")),
    );
    expect(body).toEqual({
      event_type: "cutover-alarm",
      client_payload: {
        migration: "orders-api",
        alarm: "cutover-production-orders-api-standard-error-rate-rollback-max",
        state: "ALARM",
        time: "2026-01-01T00:00:00Z",
      },
    });

    const invokePolicy = rolePolicy(production, "github-dispatch_");
    expect(invokePolicy).toEqual([
      expect.objectContaining({ Action: ["events:InvokeApiDestination"], Resource: [target["arn"]] }),
    ]);
  });

  it("takes the GitHub token from a sensitive variable, never from the code", () => {
    const connection = one(production, "aws_cloudwatch_event_connection", "github-dispatch_");
    expect(connection["authorization_type"]).toBe("API_KEY");
    const apiKey = (connection["auth_parameters"] as { api_key: { key: string; value: string } }).api_key;
    expect(apiKey).toEqual({ key: "Authorization", value: `Bearer ${tf("var.github_dispatch_token")}` });
    expect(production.variable["github_dispatch_token"]).toMatchObject({ sensitive: true, type: "string" });
    expect(production.variable["github_dispatch_token"]!["default"]).toBeUndefined();
  });

  it("reads the token from Secrets Manager when configured so", () => {
    const config = configFromFile(join(INFRA_DIR, "config.json"));
    config.dispatchToken = { source: "secrets-manager", secretId: "cutover/github-dispatch" };
    const stack = synthesize(EXAMPLE_SPEC, config).get("production")!;
    const [secretId, secret] = Object.entries(stack.data["aws_secretsmanager_secret_version"]!)[0]!;
    expect(secret["secret_id"]).toBe("cutover/github-dispatch");
    const connection = one(stack, "aws_cloudwatch_event_connection", "github-dispatch_");
    expect((connection["auth_parameters"] as { api_key: { value: string } }).api_key.value).toBe(
      `Bearer \${data.aws_secretsmanager_secret_version.${secretId}.secret_string}`,
    );
    expect(stack.variable["github_dispatch_token"]).toBeUndefined();
  });
});

describe("GitHub access", () => {
  it("trusts GitHub's OIDC provider for the STS audience", () => {
    const provider = one(production, "aws_iam_openid_connect_provider", "github-access_");
    expect(provider["url"]).toBe("https://token.actions.githubusercontent.com");
    expect(provider["client_id_list"]).toEqual(["sts.amazonaws.com"]);
  });

  it("limits the read-only role to the stack's acting environments on the default branch, in their workflows", () => {
    const [trust] = statements(
      one(production, "aws_iam_role", "github-access_read-only-role")["assume_role_policy"],
    );
    expect(trust!.Action).toEqual(["sts:AssumeRoleWithWebIdentity"]);
    const workflow = (name: string) => `job_workflow_ref:${slug}/.github/workflows/${name}@refs/heads/main`;
    expect(trust!.Condition).toEqual({
      StringEquals: {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": [
          `${repo}:environment:cutover-production:ref:refs/heads/main:${workflow("apply-migration.yml")}`,
          `${repo}:environment:cutover-production:ref:refs/heads/main:${workflow("monitor-migration.yml")}`,
          `${repo}:environment:cutover-production-decommission:ref:refs/heads/main:${workflow("apply-migration.yml")}`,
          `${repo}:environment:cutover-production-decommission:ref:refs/heads/main:${workflow("monitor-migration.yml")}`,
          `${repo}:environment:cutover-rollback:ref:refs/heads/main:${workflow("cutover-rollback.yml")}`,
          `${repo}:environment:cutover-rollback:ref:refs/heads/main:${workflow("monitor-migration.yml")}`,
          `${repo}:environment:cutover-rollback:ref:refs/heads/main:${workflow("apply-migration.yml")}`,
        ],
      },
    });
    const policy = rolePolicy(production, "github-access_read-only-policy");
    expect(actionsOf(policy).filter(isMutating)).toEqual([]);
    expect(actionsOf(policy)).toEqual(
      expect.arrayContaining([
        "route53:ListResourceRecordSets",
        "cloudwatch:GetMetricData",
        "ecs:DescribeServices",
        "lambda:GetFunction",
      ]),
    );
  });

  it("trusts each deploy role only for its acting environment, the default branch and the apply and monitor workflows", () => {
    for (const environment of ["production", "production-decommission"]) {
      const role = one(production, "aws_iam_role", `github-access_deploy-role-${environment}_`);
      const [trust] = statements(role["assume_role_policy"]);
      expect(trust!.Condition).toEqual({
        StringEquals: {
          "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
          "token.actions.githubusercontent.com:sub": ["apply-migration.yml", "monitor-migration.yml"].map(
            (workflow) =>
              `${repo}:environment:cutover-${environment}:ref:refs/heads/main:job_workflow_ref:${slug}/.github/workflows/${workflow}@refs/heads/main`,
          ),
        },
      });
      expect(role["name"]).toBe(`cutover-production-deploy-${environment}`);
    }
    const [stagingTrust] = statements(
      one(staging, "aws_iam_role", "github-access_deploy-role-staging_")["assume_role_policy"],
    );
    expect(stagingTrust!.Condition!["StringEquals"]!["token.actions.githubusercontent.com:sub"]).toEqual([
      `${repo}:environment:cutover-staging:ref:refs/heads/main:job_workflow_ref:${slug}/.github/workflows/apply-migration.yml@refs/heads/main`,
      `${repo}:environment:cutover-staging:ref:refs/heads/main:job_workflow_ref:${slug}/.github/workflows/monitor-migration.yml@refs/heads/main`,
    ]);
  });

  it("lets every job that changes AWS assume a role allowing what it calls", () => {
    // (workflow, action, the phase environment it acts for, an IAM action the step needs)
    const cases = [
      ["apply-migration.yml", "./actions/shift-traffic", "production", "route53:ChangeResourceRecordSets"],
      ["apply-migration.yml", "./actions/decommission", "production-decommission", "ecs:DeleteService"],
      ["monitor-migration.yml", "./actions/decommission", "production-decommission", "ecs:DeleteService"],
      ["monitor-migration.yml", "./actions/rollback", "production", "route53:ChangeResourceRecordSets"],
      ["cutover-rollback.yml", "./actions/rollback", "production", "route53:ChangeResourceRecordSets"],
    ] as const;
    const roles = resources(production, "aws_iam_role").map(([id, role]) => ({
      id,
      subjects: (statements(role["assume_role_policy"])[0]?.Condition?.["StringEquals"]?.[
        "token.actions.githubusercontent.com:sub"
      ] ?? []) as string[],
    }));
    for (const [workflow, action, environment, needed] of cases) {
      const doc = parseYaml(readFileSync(join(REPO_ROOT, ".github", "workflows", workflow), "utf8")) as {
        jobs: Record<string, { environment?: string; steps?: Array<{ uses?: string }> }>;
      };
      // The workflows call the actions at their own commit ($/actions/<name>).
      const jobs = Object.values(doc.jobs).filter((job) =>
        job.steps?.some((step) => step.uses?.replace(/^\$\//, "./") === action),
      );
      expect(jobs.length, `${workflow} ${action}`).toBeGreaterThan(0);
      for (const job of jobs) {
        const jobEnvironment = String(job.environment).replace(`$\{{ inputs.environment }}`, environment);
        const subject = `${repo}:environment:${jobEnvironment}:ref:refs/heads/main:job_workflow_ref:${slug}/.github/workflows/${workflow}@refs/heads/main`;
        const allowing = roles
          .filter((role) => role.subjects.includes(subject))
          .filter((role) =>
            actionsOf(
              rolePolicy(
                production,
                role.id
                  .replace("deploy-role", "deploy-policy")
                  .replace("read-only-role", "read-only-policy")
                  .replace(/_[^_]*$/, "_"),
              ),
            ).includes(needed),
          );
        expect(
          allowing.map((role) => role.id),
          `${workflow}: ${action} in ${jobEnvironment} needs ${needed}`,
        ).not.toEqual([]);
      }
    }
  });

  it("requires the default branch's ref and an expected workflow in every role's subject", () => {
    const expected =
      /^repo:[^:]+:environment:[^:]+:ref:refs\/heads\/main:job_workflow_ref:[^@]+\/\.github\/workflows\/(apply-migration|cutover-rollback|monitor-migration)\.yml@refs\/heads\/main$/;
    let roles = 0;
    for (const stack of stacks.values()) {
      for (const [, role] of resources(stack, "aws_iam_role")) {
        const trust = statements(role["assume_role_policy"]).find((statement) =>
          JSON.stringify(statement.Principal ?? {}).includes("oidc"),
        );
        if (!trust) continue;
        roles++;
        const subjects = trust.Condition!["StringEquals"]![
          "token.actions.githubusercontent.com:sub"
        ] as string[];
        expect(subjects.length).toBeGreaterThan(0);
        for (const subject of subjects) expect(subject).toMatch(expected);
        // No wildcard operator anywhere in a GitHub trust.
        expect(Object.keys(trust.Condition!)).toEqual(["StringEquals"]);
      }
    }
    expect(roles).toBeGreaterThan(3);
  });

  it("never grants a mutating action on '*' except the documented ECS task definition calls", () => {
    for (const stack of stacks.values()) {
      for (const [id, policy] of resources(stack, "aws_iam_role_policy")) {
        for (const statement of statements(policy["policy"])) {
          const mutating = statement.Action.filter(isMutating);
          if (mutating.length === 0 || !statement.Resource!.includes("*")) continue;
          expect(mutating, `${id} ${statement.Sid}`).toEqual(
            mutating.filter((action) =>
              (ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS as readonly string[]).includes(action),
            ),
          );
          expect(
            statement.Action,
            `${id} ${statement.Sid} mixes other actions into a '*' statement`,
          ).toHaveLength(1);
        }
      }
    }
  });

  it("scopes the production deploy role to the record, the service and the function", () => {
    const policy = rolePolicy(production, "github-access_deploy-policy-production_");
    const bySid = new Map(policy.map((statement) => [statement.Sid, statement]));
    const shift = bySid.get("ShiftWeightsOrdersApi")!;
    expect(shift.Action).toEqual(["route53:ChangeResourceRecordSets"]);
    expect(shift.Resource).toEqual([`arn:${PARTITION}:route53:::hostedzone/Z0EXAMPLE00001`]);
    expect(shift.Condition).toEqual({
      "ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["api.example.com"],
        "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
        "route53:ChangeResourceRecordSetsActions": ["DELETE", "CREATE"],
      },
    });
    expect(bySid.get("ReadChangeStatus")!.Resource).toEqual([`arn:${PARTITION}:route53:::change/*`]);
    expect(bySid.get("ScaleOldSideOrdersApi")).toMatchObject({
      Action: ["ecs:UpdateService"],
      Resource: [`arn:${PARTITION}:ecs:eu-west-1:${ACCOUNT}:service/prod/orders-api`],
    });
    const fnId = logicalId(production, "aws_lambda_function", "orders-api_");
    const aliasId = logicalId(production, "aws_lambda_alias", "orders-api_");
    expect(bySid.get("MoveAliasOrdersApi")).toMatchObject({
      Action: ["lambda:UpdateAlias"],
      Resource: [ref("aws_lambda_function", fnId, "arn"), ref("aws_lambda_alias", aliasId, "arn")],
    });
    // canary-10 deploys the release to production's function before shifting: code for that function only.
    expect(bySid.get("DeployNewSideOrdersApi")).toMatchObject({
      Action: ["lambda:UpdateFunctionCode", "lambda:PublishVersion"],
      Resource: [ref("aws_lambda_function", fnId, "arn")],
    });
    // No deletes and no task definition changes in production's traffic phases.
    const actions = actionsOf(policy);
    for (const absent of [
      "ecs:DeleteService",
      "ecs:DeregisterTaskDefinition",
      "ecs:RegisterTaskDefinition",
      "iam:PassRole",
    ]) {
      expect(actions).not.toContain(absent);
    }
  });

  it("grants the steps' extra permissions only to the environment whose phases run them", () => {
    const decommission = rolePolicy(production, "github-access_deploy-policy-production-decommission_");
    const bySid = new Map(decommission.map((statement) => [statement.Sid, statement]));
    expect(bySid.get("DeleteOldSideOrdersApi")).toMatchObject({
      Action: ["ecs:DeleteService"],
      Resource: [expect.stringMatching(/:service\/prod\/orders-api$/)],
    });
    // deregisterTaskDefinitions is true in the spec's decommission step.
    expect(bySid.get("DeregisterTaskDefinitionNoResourceLevel")).toMatchObject({
      Action: ["ecs:DeregisterTaskDefinition"],
      Resource: ["*"],
    });
    expect(actionsOf(decommission)).not.toContain("lambda:UpdateFunctionCode");

    const stagingPolicy = rolePolicy(staging, "github-access_deploy-policy-staging_");
    const fnId = logicalId(staging, "aws_lambda_function", "orders-api_");
    expect(stagingPolicy.find((statement) => statement.Sid === "DeployNewSideOrdersApi")).toMatchObject({
      Action: ["lambda:UpdateFunctionCode", "lambda:PublishVersion"],
      Resource: [ref("aws_lambda_function", fnId, "arn")],
    });
    expect(actionsOf(stagingPolicy)).not.toContain("ecs:DeleteService");
    // Staging routes its own record, so its deploy role may only change that one.
    const stagingShift = stagingPolicy.find((statement) => statement.Sid === "ShiftWeightsOrdersApi")!;
    expect(stagingShift.Resource).toEqual([`arn:${PARTITION}:route53:::hostedzone/Z0EXAMPLESTG01`]);
    expect(
      stagingShift.Condition!["ForAllValues:StringEquals"]![
        "route53:ChangeResourceRecordSetsNormalizedRecordNames"
      ],
    ).toEqual(["api.staging.example.com"]);
  });

  it("passes only the configured task roles, only to ECS tasks, when a phase deploys the old side", () => {
    const withOldDeploy = structuredClone(spec);
    withOldDeploy.migrations[0]!.phases[1]!.steps.unshift({ kind: "deploy", side: "old" });
    const stack = synthesize(withOldDeploy, configFromFile(join(INFRA_DIR, "config.json"))).get(
      "production",
    )!;
    const policy = rolePolicy(stack, "github-access_deploy-policy-production_");
    expect(policy.find((statement) => statement.Sid === "PassTaskRolesOrdersApi")).toEqual({
      Sid: "PassTaskRolesOrdersApi",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: [
        `arn:${PARTITION}:iam::${ACCOUNT}:role/orders-api-task`,
        `arn:${PARTITION}:iam::${ACCOUNT}:role/orders-api-task-execution`,
      ],
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    });
    expect(
      policy.find((statement) => statement.Sid === "RegisterTaskDefinitionNoResourceLevel")!.Action,
    ).toEqual(["ecs:RegisterTaskDefinition"]);
  });

  it("gives the monitor and rollback workflows' environment a role that can only roll back", () => {
    const role = one(production, "aws_iam_role", "github-access_deploy-role-cutover-rollback_");
    const [trust] = statements(role["assume_role_policy"]);
    expect(trust!.Condition!["StringEquals"]!["token.actions.githubusercontent.com:sub"]).toEqual(
      ["cutover-rollback.yml", "monitor-migration.yml", "apply-migration.yml"].map(
        (workflow) =>
          `${repo}:environment:cutover-rollback:ref:refs/heads/main:job_workflow_ref:${slug}/.github/workflows/${workflow}@refs/heads/main`,
      ),
    );
    const writes = actionsOf(rolePolicy(production, "github-access_deploy-policy-cutover-rollback_")).filter(
      isMutating,
    );
    expect(writes.sort()).toEqual([
      "ecs:UpdateService",
      "lambda:UpdateAlias",
      "route53:ChangeResourceRecordSets",
      // the checkpoint it restores from
      "s3:PutObject",
    ]);
    expect(production.output["deploy_role_arn_cutover_rollback"]).toBeDefined();
    expect(resources(staging, "aws_iam_role").some(([id]) => id.includes("cutover-rollback"))).toBe(false);
  });

  it("trusts the jobs of a repository that calls a released cutover in cutover's workflows at the pinned ref", () => {
    const base = configFromFile(join(INFRA_DIR, "config.json"), {
      CUTOVER_GITHUB_REPOSITORY: "acme/traffic",
    });
    const config = {
      ...base,
      github: { ...base.github, workflows: { repository: "cutover-dev/cutover", ref: "refs/tags/v1.2.0" } },
    };
    const stack = synthesize(EXAMPLE_SPEC, config).get("production")!;
    const [trust] = statements(
      one(stack, "aws_iam_role", "github-access_deploy-role-production_")["assume_role_policy"],
    );
    expect(trust!.Condition!["StringEquals"]!["token.actions.githubusercontent.com:sub"]).toEqual(
      ["apply-migration.yml", "monitor-migration.yml"].map(
        (workflow) =>
          `repo:acme/traffic:environment:cutover-production:ref:refs/heads/main:job_workflow_ref:cutover-dev/cutover/.github/workflows/${workflow}@refs/tags/v1.2.0`,
      ),
    );
  });

  it("takes the repository from CUTOVER_GITHUB_REPOSITORY when set", () => {
    const config = configFromFile(join(INFRA_DIR, "config.json"), {
      CUTOVER_GITHUB_REPOSITORY: "acme/traffic",
    });
    const stack = synthesize(EXAMPLE_SPEC, config).get("production")!;
    expect(
      one(stack, "aws_cloudwatch_event_api_destination", "github-dispatch_")["invocation_endpoint"],
    ).toBe("https://api.github.com/repos/acme/traffic/dispatches");
    const [trust] = statements(
      one(stack, "aws_iam_role", "github-access_deploy-role-production_")["assume_role_policy"],
    );
    expect(trust!.Condition!["StringEquals"]!["token.actions.githubusercontent.com:sub"]).toEqual([
      "repo:acme/traffic:environment:cutover-production:ref:refs/heads/main:job_workflow_ref:acme/traffic/.github/workflows/apply-migration.yml@refs/heads/main",
      "repo:acme/traffic:environment:cutover-production:ref:refs/heads/main:job_workflow_ref:acme/traffic/.github/workflows/monitor-migration.yml@refs/heads/main",
    ]);
  });
});
