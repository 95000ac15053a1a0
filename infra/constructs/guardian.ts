/**
 * The guardian: a Lambda function in the environment's own account that rolls
 * a migration back as soon as one of its rollback alarms enters ALARM, without
 * waiting for GitHub to queue a workflow. It reads the migration's checkpoint
 * from the checkpoint store (one versioned S3 bucket per environment), restores
 * it (Route 53 weights, ECS desired count, Lambda alias) and journals what it
 * did. It only ever rolls back, so its role can do nothing else.
 *
 * One function per stack guards every migration of the stack; its permissions
 * are granted per migration, each statement scoped to that migration's record,
 * service, alias and checkpoint objects.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { CloudwatchLogGroup } from "@cdktn/provider-aws/lib/cloudwatch-log-group/index.js";
import { IamRole } from "@cdktn/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktn/provider-aws/lib/iam-role-policy/index.js";
import { LambdaFunction } from "@cdktn/provider-aws/lib/lambda-function/index.js";
import { LambdaFunctionEventInvokeConfig } from "@cdktn/provider-aws/lib/lambda-function-event-invoke-config/index.js";
import { S3Bucket } from "@cdktn/provider-aws/lib/s3-bucket/index.js";
import { S3BucketLifecycleConfiguration } from "@cdktn/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js";
import { S3BucketOwnershipControls } from "@cdktn/provider-aws/lib/s3-bucket-ownership-controls/index.js";
import { S3BucketPolicy } from "@cdktn/provider-aws/lib/s3-bucket-policy/index.js";
import { S3BucketPublicAccessBlock } from "@cdktn/provider-aws/lib/s3-bucket-public-access-block/index.js";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktn/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js";
import { S3BucketVersioningA } from "@cdktn/provider-aws/lib/s3-bucket-versioning/index.js";
import { SqsQueue } from "@cdktn/provider-aws/lib/sqs-queue/index.js";
import { SqsQueuePolicy } from "@cdktn/provider-aws/lib/sqs-queue-policy/index.js";
import { Construct } from "constructs";
import { GUARDIAN_NOTIFY_ENV } from "../../src/notify/guardian.js";
import type { GuardianCodeConfig } from "../inputs/config.js";
import { type PolicyStatement, policyDocument, trustDocument, weightChangeStatement } from "./iam-policy.js";
import { awsName, NAME_LIMITS } from "./names.js";

/**
 * Long enough for the slowest rollback the guardian performs: scaling a
 * drained ECS service back up and waiting for it to be stable (a task start is
 * typically 30–120 s) and a Route 53 change to reach INSYNC (about 60 s), with
 * margin. Not the 900 s maximum: a stuck invocation should fail and be retried
 * (or dead-lettered) while a rollback still matters.
 */
export const GUARDIAN_TIMEOUT_SECONDS = 300;
/** Lambda's async retries after the first attempt; the contract's value. */
export const GUARDIAN_MAX_RETRY_ATTEMPTS = 2;
/** An alarm event older than an hour is left to the scheduled monitor and people. */
export const GUARDIAN_MAX_EVENT_AGE_SECONDS = 3600;
/** The longest SQS keeps a message: 14 days to read what the guardian could not do. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;
/** Old checkpoint versions are what an audit or a manual restore reads; kept a bounded time. */
export const CHECKPOINT_NONCURRENT_DAYS = 90;
export const GUARDIAN_LOG_RETENTION_DAYS = 90;

/** What the guardian may touch for one migration (ARNs are Terraform references). */
export interface GuardedMigration {
  id: string;
  hostedZoneArn: string;
  /** Lowercase, without the trailing dot: the form Route 53's condition keys compare. */
  recordName: string;
  recordType: string;
  serviceArn: string;
  clusterArn: string;
  functionArn: string;
  aliasArn: string;
}

export interface GuardianProps {
  stackName: string;
  /** The ids of the migrations the stack holds (`CUTOVER_MIGRATIONS`). */
  migrationIds: string[];
  code: GuardianCodeConfig;
  accountId: string;
  partition: string;
  region: string;
  tags: Record<string, string>;
  /** SNS topic the guardian announces its rollbacks to; none when absent. */
  notifyTopicArn?: string;
}

/** The checkpoint store, the dead-letter queue and the guardian function of one environment. */
export class Guardian extends Construct {
  readonly bucket: S3Bucket;
  readonly deadLetterQueue: SqsQueue;
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  /** `s3://<bucket>/` as the actions and the guardian are configured. */
  readonly storeUrl: string;
  private readonly props: GuardianProps;

  constructor(scope: Construct, id: string, props: GuardianProps) {
    super(scope, id);
    this.props = props;
    const sourceCodeHash = guardianSourceCodeHash(props.code);

    // Bucket names are global: the account id (12 digits and a dash) keeps two accounts' stacks apart.
    this.bucket = new S3Bucket(this, "checkpoint-store", {
      bucket: `${awsName("S3 bucket", NAME_LIMITS.s3Bucket - 13, props.stackName, "checkpoints")}-${props.accountId}`,
      tags: props.tags,
    });
    new S3BucketVersioningA(this, "checkpoint-store-versioning", {
      bucket: this.bucket.id,
      // Every checkpoint write is a new version: the history of what each rollback restored.
      versioningConfiguration: { status: "Enabled" },
    });
    new S3BucketPublicAccessBlock(this, "checkpoint-store-public-access", {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "checkpoint-store-ownership", {
      bucket: this.bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "checkpoint-store-encryption", {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    new S3BucketLifecycleConfiguration(this, "checkpoint-store-lifecycle", {
      bucket: this.bucket.id,
      rule: [
        {
          id: "expire-noncurrent-checkpoints",
          status: "Enabled",
          filter: [{ prefix: "" }],
          noncurrentVersionExpiration: [{ noncurrentDays: CHECKPOINT_NONCURRENT_DAYS }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
    });
    new S3BucketPolicy(this, "checkpoint-store-policy", {
      bucket: this.bucket.id,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:*"],
            Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      }),
    });
    this.storeUrl = `s3://${this.bucket.bucket}/`;

    this.deadLetterQueue = new SqsQueue(this, "dead-letter-queue", {
      name: awsName("SQS queue", NAME_LIMITS.sqsQueue, props.stackName, "guardian-dlq"),
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
      tags: props.tags,
    });

    const functionName = awsName("Lambda function", NAME_LIMITS.lambdaFunction, props.stackName, "guardian");
    this.logGroup = new CloudwatchLogGroup(this, "log-group", {
      name: `/aws/lambda/${functionName}`,
      retentionInDays: GUARDIAN_LOG_RETENTION_DAYS,
      tags: props.tags,
    });
    this.role = new IamRole(this, "role", {
      name: awsName("IAM role", NAME_LIMITS.iamRole, props.stackName, "guardian"),
      description: "The cutover guardian: restores checkpoints of this stack's migrations, nothing else",
      assumeRolePolicy: trustDocument([
        {
          Effect: "Allow",
          Principal: { Service: "lambda.amazonaws.com" },
          Action: ["sts:AssumeRole"],
          Condition: { StringEquals: { "aws:SourceAccount": props.accountId } },
        },
      ]),
      tags: props.tags,
    });

    this.function = new LambdaFunction(this, "function", {
      functionName,
      description: "cutover guardian: rolls a migration back when its rollback alarm enters ALARM",
      role: this.role.arn,
      runtime: "nodejs24.x",
      handler: "index.handler",
      architectures: ["arm64"],
      filename: props.code.zipPath,
      sourceCodeHash,
      memorySize: 256,
      timeout: GUARDIAN_TIMEOUT_SECONDS,
      reservedConcurrentExecutions: guardianConcurrency(props.migrationIds.length),
      environment: {
        variables: {
          CUTOVER_CHECKPOINT_STORE: this.storeUrl,
          CUTOVER_ENVIRONMENT: props.stackName,
          CUTOVER_MIGRATIONS: props.migrationIds.join(","),
          ...(props.notifyTopicArn ? { [GUARDIAN_NOTIFY_ENV.snsTopicArn]: props.notifyTopicArn } : {}),
        },
      },
      loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
      dependsOn: [this.logGroup],
      tags: props.tags,
    });

    new LambdaFunctionEventInvokeConfig(this, "event-invoke-config", {
      functionName: this.function.functionName,
      maximumRetryAttempts: GUARDIAN_MAX_RETRY_ATTEMPTS,
      maximumEventAgeInSeconds: GUARDIAN_MAX_EVENT_AGE_SECONDS,
      destinationConfig: { onFailure: { destination: this.deadLetterQueue.arn } },
    });
  }

  /** The checkpoint and journal object ARNs of one migration (empty prefix). */
  checkpointObjectArns(migrationId: string): string[] {
    return [
      `${this.bucket.arn}/checkpoints/${migrationId}.json`,
      `${this.bucket.arn}/journal/${migrationId}/*`,
    ];
  }

  /** The `s3:prefix` values a ListBucket of one migration's objects may use. */
  static checkpointPrefixes(migrationId: string): string[] {
    return [`checkpoints/${migrationId}.json`, `journal/${migrationId}/*`];
  }

  /**
   * Grants the guardian its per-migration permissions and lets the given
   * EventBridge rules dead-letter into the queue. Called once, after every
   * migration of the stack is built.
   */
  guard(migrations: GuardedMigration[], ruleArns: string[]): void {
    new IamRolePolicy(this, "role-policy", {
      name: "cutover-guardian",
      role: this.role.id,
      policy: policyDocument(this.statements(migrations)),
    });
    if (ruleArns.length === 0) return;
    new SqsQueuePolicy(this, "dead-letter-queue-policy", {
      queueUrl: this.deadLetterQueue.url,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            // EventBridge dead-letters with its own principal, so the queue must allow it, for these rules only.
            Sid: "EventBridgeDeadLetters",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: ["sqs:SendMessage"],
            Resource: [this.deadLetterQueue.arn],
            Condition: { ArnEquals: { "aws:SourceArn": ruleArns } },
          },
        ],
      }),
    });
  }

  /** The guardian role's statements: shared ones first, then one group per migration. */
  statements(migrations: GuardedMigration[]): PolicyStatement[] {
    const { partition } = this.props;
    const statements: PolicyStatement[] = [
      {
        Sid: "WriteLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [`${this.logGroup.arn}:*`],
      },
      {
        // Lambda's on-failure destination sends with the function's role.
        Sid: "DeadLetter",
        Effect: "Allow",
        Action: ["sqs:SendMessage"],
        Resource: [this.deadLetterQueue.arn],
      },
    ];
    if (migrations.length > 0) {
      statements.push({
        // Change ids are not known in advance; GetChange only reads a change's status.
        Sid: "WaitForRecordChanges",
        Effect: "Allow",
        Action: ["route53:GetChange"],
        Resource: [`arn:${partition}:route53:::change/*`],
      });
    }
    if (this.props.notifyTopicArn)
      statements.push({
        Sid: "AnnounceRollbacks",
        Effect: "Allow",
        Action: ["sns:Publish"],
        Resource: [this.props.notifyTopicArn],
      });
    for (const migration of migrations) statements.push(...guardianMigrationStatements(migration, this));
    return statements;
  }
}

/** The statements that let the guardian roll back exactly one migration. */
export function guardianMigrationStatements(
  migration: GuardedMigration,
  guardian: Guardian,
): PolicyStatement[] {
  const sid = pascal(migration.id);
  return [
    // The restore is the same compare-and-swap batch as a shift's.
    weightChangeStatement(`RestoreWeights${sid}`, migration),
    {
      Sid: `ReadRecords${sid}`,
      Effect: "Allow",
      Action: ["route53:ListResourceRecordSets"],
      Resource: [migration.hostedZoneArn],
    },
    {
      // Scaling the old side back up before weight returns to it, and waiting for it to be stable.
      Sid: `RestoreOldSide${sid}`,
      Effect: "Allow",
      Action: ["ecs:UpdateService", "ecs:DescribeServices"],
      Resource: [migration.serviceArn],
      Condition: { ArnEquals: { "ecs:cluster": migration.clusterArn } },
    },
    {
      Sid: `RestoreAlias${sid}`,
      Effect: "Allow",
      Action: ["lambda:UpdateAlias", "lambda:GetAlias"],
      Resource: [migration.aliasArn],
    },
    {
      // Readiness of the version the alias goes back to (qualified ARNs name a version), and of the function's concurrency.
      Sid: `ReadFunction${sid}`,
      Effect: "Allow",
      Action: ["lambda:GetFunctionConfiguration", "lambda:GetFunctionConcurrency"],
      Resource: [migration.functionArn, `${migration.functionArn}:*`],
    },
    {
      // Lifting a decommission hold (reserved concurrency 0) before weight returns to the function.
      Sid: `RestoreConcurrency${sid}`,
      Effect: "Allow",
      Action: ["lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency"],
      Resource: [migration.functionArn],
    },
    {
      Sid: `Checkpoint${sid}`,
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
      Resource: guardian.checkpointObjectArns(migration.id),
    },
    {
      // Without ListBucket a missing checkpoint reads as 403 instead of 404.
      Sid: `ListCheckpoint${sid}`,
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: [guardian.bucket.arn],
      Condition: { StringLike: { "s3:prefix": Guardian.checkpointPrefixes(migration.id) } },
    },
  ];
}

/**
 * Reserved concurrency: one execution per guarded migration plus one for a
 * duplicate delivery. Reserving it means no other function of the account can
 * starve the guardian during an incident; capping it means an alarm storm
 * cannot fan out into many concurrent rollbacks (the checkpoint's ETag lock
 * serializes them per migration anyway, so extra executions would only retry).
 */
export function guardianConcurrency(migrations: number): number {
  return Math.max(2, migrations + 1);
}

/**
 * The base64 SHA-256 of the guardian's package, as Lambda reports it. Reading
 * the file at synthesis time makes a new build a planned code change.
 */
export function guardianSourceCodeHash(code: GuardianCodeConfig): string {
  if (code.sourceCodeHash !== undefined) return code.sourceCodeHash;
  if (!existsSync(code.zipPath)) {
    throw new Error(
      `The guardian's code package ${code.zipPath} does not exist: run \`npm run build\` first (it writes guardian/dist/guardian.zip), or set "guardian.zipPath" in the infrastructure configuration.`,
    );
  }
  return createHash("sha256").update(readFileSync(code.zipPath)).digest("base64");
}

function pascal(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
}
