import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  configFromFile,
  FIXTURES,
  GUARDIAN_FIXTURE_HASH,
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

const CONFIG = join(FIXTURES, "two-migrations.config.json");
const SPEC = join(FIXTURES, "two-migrations.json");
const PARTITION = tf("data.aws_partition.partition.partition");
const ACCOUNT = tf("data.aws_caller_identity.current.account_id");

let stack: StackJson;
let bucket: string;
let dlq: string;
beforeAll(() => {
  stack = synthesize(SPEC, configFromFile(CONFIG)).get("production")!;
  bucket = logicalId(stack, "aws_s3_bucket", "guardian_checkpoint-store");
  dlq = logicalId(stack, "aws_sqs_queue", "guardian_dead-letter-queue");
});

function guardianStatements(): Statement[] {
  return statements(one(stack, "aws_iam_role_policy", "guardian_role-policy")["policy"]);
}
function bySid(list: Statement[], sid: string): Statement {
  const found = list.find((statement) => statement.Sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${list.map((s) => s.Sid).join(", ")}`);
  return found;
}

describe("checkpoint store", () => {
  it("is versioned, private, bucket-owner enforced, encrypted, TLS-only, and keeps old versions a bounded time", () => {
    const bucketRef = ref("aws_s3_bucket", bucket, "id");
    expect(one(stack, "aws_s3_bucket", "guardian_")["bucket"]).toBe(
      `cutover-production-checkpoints-${ACCOUNT}`,
    );
    const versioning = one(stack, "aws_s3_bucket_versioning", "guardian_");
    expect(versioning["bucket"]).toBe(bucketRef);
    expect(versioning["versioning_configuration"]).toEqual({ status: "Enabled" });
    expect(one(stack, "aws_s3_bucket_public_access_block", "guardian_")).toMatchObject({
      bucket: bucketRef,
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(one(stack, "aws_s3_bucket_ownership_controls", "guardian_")["rule"]).toEqual({
      object_ownership: "BucketOwnerEnforced",
    });
    expect(one(stack, "aws_s3_bucket_server_side_encryption_configuration", "guardian_")["rule"]).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
    ]);
    const [rule] = one(stack, "aws_s3_bucket_lifecycle_configuration", "guardian_")["rule"] as Record<
      string,
      unknown
    >[];
    expect(rule!["status"]).toBe("Enabled");
    expect(rule!["noncurrent_version_expiration"]).toEqual([{ noncurrent_days: 90 }]);
    const [deny] = statements(one(stack, "aws_s3_bucket_policy", "guardian_")["policy"]);
    expect(deny).toEqual({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: ["s3:*"],
      Resource: [ref("aws_s3_bucket", bucket, "arn"), `${ref("aws_s3_bucket", bucket, "arn")}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
  });
});

describe("guardian function", () => {
  it("has an encrypted 14-day dead-letter queue", () => {
    expect(one(stack, "aws_sqs_queue", "guardian_")).toMatchObject({
      name: "cutover-production-guardian-dlq",
      sqs_managed_sse_enabled: true,
      message_retention_seconds: 1209600,
    });
  });

  it("runs the built package on nodejs24.x with the contract's environment, bounded concurrency and timeout", () => {
    const fn = one(stack, "aws_lambda_function", "guardian_");
    expect(fn).toMatchObject({
      function_name: "cutover-production-guardian",
      runtime: "nodejs24.x",
      handler: "index.handler",
      timeout: 300,
      source_code_hash: GUARDIAN_FIXTURE_HASH,
      // two migrations plus one duplicate delivery
      reserved_concurrent_executions: 3,
      role: ref("aws_iam_role", logicalId(stack, "aws_iam_role", "guardian_"), "arn"),
    });
    expect(String(fn["filename"])).toMatch(/guardian\/dist\/guardian\.zip$/);
    expect((fn["environment"] as { variables: Record<string, string> }).variables).toEqual({
      CUTOVER_CHECKPOINT_STORE: `s3://${ref("aws_s3_bucket", bucket, "bucket")}/`,
      CUTOVER_ENVIRONMENT: "production",
      CUTOVER_MIGRATIONS: "orders-api,payments-api",
    });
    const logGroup = one(stack, "aws_cloudwatch_log_group", "guardian_");
    expect(logGroup).toMatchObject({
      name: "/aws/lambda/cutover-production-guardian",
      retention_in_days: 90,
    });
    expect((fn["logging_config"] as { log_group: string }).log_group).toBe(
      ref("aws_cloudwatch_log_group", logicalId(stack, "aws_cloudwatch_log_group", "guardian_"), "name"),
    );
  });

  it("announces its rollbacks to the environment's SNS topic when one is configured, and may publish only there", () => {
    expect(guardianStatements().some((statement) => statement.Action.includes("sns:Publish"))).toBe(false);
    const base = configFromFile(CONFIG);
    const topic = `arn:aws:sns:${base.environments["production"]!.region}:123456789012:cutover-rollbacks`;
    const config = {
      ...base,
      environments: {
        ...base.environments,
        production: { ...base.environments["production"]!, guardianNotifyTopicArn: topic },
      },
    };
    const announcing = synthesize(SPEC, config).get("production")!;
    const fn = one(announcing, "aws_lambda_function", "guardian_");
    expect((fn["environment"] as { variables: Record<string, string> }).variables).toMatchObject({
      CUTOVER_NOTIFY_SNS_TOPIC_ARN: topic,
    });
    const publish = statements(
      one(announcing, "aws_iam_role_policy", "guardian_role-policy")["policy"],
    ).filter((statement) => statement.Action.includes("sns:Publish"));
    expect(publish).toEqual([
      { Sid: "AnnounceRollbacks", Effect: "Allow", Action: ["sns:Publish"], Resource: [topic] },
    ]);
  });

  it("retries an async invocation twice, then sends it to the dead-letter queue", () => {
    expect(one(stack, "aws_lambda_function_event_invoke_config", "guardian_")).toMatchObject({
      function_name: ref(
        "aws_lambda_function",
        logicalId(stack, "aws_lambda_function", "guardian_"),
        "function_name",
      ),
      maximum_retry_attempts: 2,
      maximum_event_age_in_seconds: 3600,
      destination_config: { on_failure: { destination: ref("aws_sqs_queue", dlq, "arn") } },
    });
  });
});

describe("rollback rules", () => {
  it.each(["orders-api", "payments-api"])(
    "%s: its alarms entering ALARM invoke the guardian, then dispatch",
    (id) => {
      const alarms = resources(stack, "aws_cloudwatch_metric_alarm").filter(([logical]) =>
        logical.startsWith(`${id}_`),
      );
      expect(alarms.length).toBeGreaterThan(0);
      for (const [, alarm] of alarms)
        expect((alarm["tags"] as Record<string, string>)["cutover:migration"]).toBe(id);

      const ruleId = logicalId(stack, "aws_cloudwatch_event_rule", `${id}_`);
      const rule = one(stack, "aws_cloudwatch_event_rule", `${id}_`);
      expect(JSON.parse(String(rule["event_pattern"]))).toEqual({
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { alarmName: alarms.map(([, alarm]) => alarm["alarm_name"]), state: { value: ["ALARM"] } },
      });

      const target = one(stack, "aws_cloudwatch_event_target", `${id}_alarm-dispatch_guardian-target`);
      expect(target).toEqual({
        rule: ref("aws_cloudwatch_event_rule", ruleId, "name"),
        target_id: "cutover-guardian",
        arn: ref("aws_lambda_function", logicalId(stack, "aws_lambda_function", "guardian_"), "arn"),
        retry_policy: { maximum_event_age_in_seconds: 3600, maximum_retry_attempts: 10 },
        dead_letter_config: { arn: ref("aws_sqs_queue", dlq, "arn") },
      });
      // the GitHub path stays, as the second target
      expect(one(stack, "aws_cloudwatch_event_target", `${id}_alarm-dispatch_dispatch-target`)["rule"]).toBe(
        ref("aws_cloudwatch_event_rule", ruleId, "name"),
      );

      expect(one(stack, "aws_lambda_permission", `${id}_alarm-dispatch_`)).toEqual({
        statement_id: `cutover-alarm-${id}`,
        action: "lambda:InvokeFunction",
        function_name: ref(
          "aws_lambda_function",
          logicalId(stack, "aws_lambda_function", "guardian_"),
          "function_name",
        ),
        principal: "events.amazonaws.com",
        source_arn: ref("aws_cloudwatch_event_rule", ruleId, "arn"),
      });
    },
  );

  it("lets only the stack's rules dead-letter into the queue", () => {
    const [statement] = statements(one(stack, "aws_sqs_queue_policy", "guardian_")["policy"]);
    expect(statement!.Principal).toEqual({ Service: "events.amazonaws.com" });
    expect(statement!.Action).toEqual(["sqs:SendMessage"]);
    expect(statement!.Resource).toEqual([ref("aws_sqs_queue", dlq, "arn")]);
    expect(statement!.Condition).toEqual({
      ArnEquals: {
        "aws:SourceArn": ["orders-api", "payments-api"].map((id) =>
          ref("aws_cloudwatch_event_rule", logicalId(stack, "aws_cloudwatch_event_rule", `${id}_`), "arn"),
        ),
      },
    });
  });
});

describe("guardian role", () => {
  const bucketArn = () => ref("aws_s3_bucket", bucket, "arn");

  it("may restore orders-api's record only by DELETE + CREATE of that name and type in its zone", () => {
    expect(bySid(guardianStatements(), "RestoreWeightsOrdersApi")).toEqual({
      Sid: "RestoreWeightsOrdersApi",
      Effect: "Allow",
      Action: ["route53:ChangeResourceRecordSets"],
      Resource: [`arn:${PARTITION}:route53:::hostedzone/Z0EXAMPLE00001`],
      Condition: {
        "ForAllValues:StringEquals": {
          "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["api.example.com"],
          "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
          "route53:ChangeResourceRecordSetsActions": ["DELETE", "CREATE"],
        },
      },
    });
  });

  it("scopes ECS, the alias and the checkpoint objects to the one migration", () => {
    const list = guardianStatements();
    const serviceArn = `arn:${PARTITION}:ecs:us-east-1:${ACCOUNT}:service/prod/payments-api`;
    expect(bySid(list, "RestoreOldSidePaymentsApi")).toEqual({
      Sid: "RestoreOldSidePaymentsApi",
      Effect: "Allow",
      Action: ["ecs:UpdateService", "ecs:DescribeServices"],
      Resource: [serviceArn],
      Condition: { ArnEquals: { "ecs:cluster": `arn:${PARTITION}:ecs:us-east-1:${ACCOUNT}:cluster/prod` } },
    });
    const aliasId = logicalId(stack, "aws_lambda_alias", "payments-api_");
    expect(bySid(list, "RestoreAliasPaymentsApi").Resource).toEqual([
      ref("aws_lambda_alias", aliasId, "arn"),
    ]);
    expect(bySid(list, "RestoreAliasPaymentsApi").Action).toEqual(["lambda:UpdateAlias", "lambda:GetAlias"]);
    expect(bySid(list, "CheckpointPaymentsApi")).toEqual({
      Sid: "CheckpointPaymentsApi",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
      Resource: [`${bucketArn()}/checkpoints/payments-api.json`, `${bucketArn()}/journal/payments-api/*`],
    });
    expect(bySid(list, "ListCheckpointPaymentsApi")).toEqual({
      Sid: "ListCheckpointPaymentsApi",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: [bucketArn()],
      Condition: { StringLike: { "s3:prefix": ["checkpoints/payments-api.json", "journal/payments-api/*"] } },
    });
    expect(bySid(list, "WaitForRecordChanges").Resource).toEqual([`arn:${PARTITION}:route53:::change/*`]);
    expect(bySid(list, "DeadLetter").Resource).toEqual([ref("aws_sqs_queue", dlq, "arn")]);
  });

  it("gives payments-api's statements nothing of orders-api's record, zone, service, alias or objects", () => {
    const ordersAlias = ref("aws_lambda_alias", logicalId(stack, "aws_lambda_alias", "orders-api_"), "arn");
    const ordersFunction = ref(
      "aws_lambda_function",
      logicalId(stack, "aws_lambda_function", "orders-api_"),
      "arn",
    );
    const payments = guardianStatements().filter((statement) => statement.Sid!.endsWith("PaymentsApi"));
    // Seven statements, and one more to lift a decommission hold on the function.
    expect(payments).toHaveLength(8);
    expect(payments.find((statement) => statement.Sid === "RestoreConcurrencyPaymentsApi")?.Action).toEqual([
      "lambda:PutFunctionConcurrency",
      "lambda:DeleteFunctionConcurrency",
    ]);
    const text = JSON.stringify(payments);
    for (const foreign of ["api.example.com", "Z0EXAMPLE00001", "service/prod/orders-api", "orders-api"]) {
      expect(text).not.toContain(foreign);
    }
    expect(text).not.toContain(ordersAlias);
    expect(text).not.toContain(ordersFunction);
    // and nothing in the role reaches beyond the migrations' own resources except the change status reads
    for (const statement of guardianStatements()) {
      for (const resource of statement.Resource ?? []) expect(resource).not.toBe("*");
    }
    // no UPSERT anywhere: the guardian's changes are always compare-and-swap
    expect(JSON.stringify(guardianStatements())).not.toContain("UPSERT");
  });
});

describe("GitHub roles and the checkpoint store", () => {
  it("let a deploy role read and write exactly its migrations' checkpoint objects", () => {
    const policy = statements(
      one(stack, "aws_iam_role_policy", "github-access_deploy-policy-production_")["policy"],
    );
    const orders = bySid(policy, "CheckpointOrdersApi");
    expect(orders.Action).toEqual(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]);
    expect(orders.Resource).toEqual([
      `${bucketArn()}/checkpoints/orders-api.json`,
      `${bucketArn()}/journal/orders-api/*`,
    ]);
    expect(bySid(policy, "ListCheckpointOrdersApi").Condition).toEqual({
      StringLike: { "s3:prefix": ["checkpoints/orders-api.json", "journal/orders-api/*"] },
    });
  });
  const bucketArn = () => ref("aws_s3_bucket", bucket, "arn");
});

describe("guardian package", () => {
  it("fails synthesis with the fix when the package was not built", () => {
    const config = configFromFile(CONFIG);
    const missing = join(FIXTURES, "no-such-build", "guardian.zip");
    expect(() => synthesize(SPEC, { ...config, guardian: { zipPath: missing } })).toThrow(
      `The guardian's code package ${missing} does not exist: run \`npm run build\` first`,
    );
  });
});
