/**
 * Everything one migration needs in one environment: the new side and its
 * API, the weighted record pair, the rollback alarms, the dashboard and the
 * alarm-to-dispatch rule. Every resource lives under this construct, so its
 * logical ids and AWS names carry the migration id and two migrations never
 * share anything by accident.
 */
import { DataAwsLb } from "@cdktn/provider-aws/lib/data-aws-lb/index.js";
import { TerraformOutput, TerraformVariable } from "cdktn";
import { Construct } from "constructs";
import type { AlarmSettings } from "../inputs/config.js";
import type { MigrationPlan } from "../inputs/plan.js";
import { AlarmDispatchRule, type GitHubDispatchDestination } from "./alarm-dispatch.js";
import type { SideDimensions } from "./alarm-metrics.js";
import type { MigrationAccessTarget } from "./github-access.js";
import type { GuardedMigration, Guardian } from "./guardian.js";
import { MigrationDashboard } from "./migration-dashboard.js";
import { NewSideApi } from "./new-side-api.js";
import { type RollbackAlarm, RollbackAlarms } from "./rollback-alarms.js";
import { WeightedRecordPair } from "./weighted-record-pair.js";

/** Account-wide facts every migration's ARNs are built from (Terraform references). */
export interface AccountContext {
  accountId: string;
  partition: string;
  region: string;
}

export interface MigrationCutoverProps {
  stackName: string;
  plan: MigrationPlan;
  account: AccountContext;
  alarmSettings: AlarmSettings;
  /** Bucket holding the first code package of every function in the stack (Terraform variable reference). */
  codeBucket: string;
  /** Creates (once per stack) the GitHub dispatch destination; only called when this migration has alarms. */
  dispatchDestination: () => GitHubDispatchDestination;
  /** The environment's guardian, which every rollback rule targets first. */
  guardian: Guardian;
}

export class MigrationCutover extends Construct {
  readonly newSide: NewSideApi;
  readonly records: WeightedRecordPair;
  readonly alarms: RollbackAlarm[];
  readonly dashboard: MigrationDashboard;
  readonly dispatchRule?: AlarmDispatchRule;
  /** The resources the GitHub roles are scoped to. */
  readonly accessTarget: MigrationAccessTarget;
  /** The resources the guardian may restore for this migration. */
  readonly guarded: GuardedMigration;

  constructor(scope: Construct, id: string, props: MigrationCutoverProps) {
    super(scope, id);
    const { plan, account, stackName } = props;
    const tags = { "cutover:migration": plan.id };

    const codeKey = new TerraformVariable(this, "code-s3-key", {
      type: "string",
      default: `${plan.newSide.functionName}/initial.zip`,
      description: `S3 key of the first code package of ${plan.newSide.functionName}; later releases go through the deploy action`,
    });
    codeKey.overrideLogicalId(`code_s3_key_${plan.id.replace(/-/g, "_")}`);

    this.newSide = new NewSideApi(this, "new-side", {
      stackName,
      migrationId: plan.id,
      newSide: plan.newSide,
      domainName: plan.router.recordName,
      settings: plan.settings,
      directEndpoint: plan.loadTested,
      code: { s3Bucket: props.codeBucket, s3Key: codeKey.stringValue },
      partition: account.partition,
      tags,
    });

    const loadBalancer = new DataAwsLb(this, "old-side-load-balancer", {
      arn: `arn:${account.partition}:elasticloadbalancing:${account.region}:${account.accountId}:loadbalancer/${plan.oldSide.telemetry.loadBalancer}`,
    });

    this.records = new WeightedRecordPair(this, "records", {
      router: plan.router,
      oldTarget: { dnsName: loadBalancer.dnsName, zoneId: loadBalancer.zoneId },
      newTarget: this.newSide.aliasTarget,
    });

    const dimensions: SideDimensions = {
      apiGateway: { apiId: this.newSide.api.id, stage: plan.newSide.telemetry.stage },
      lambda: { functionName: plan.newSide.functionName, alias: plan.newSide.alias },
      alb: plan.oldSide.telemetry,
    };
    this.alarms = new RollbackAlarms(this, "rollback-alarms", {
      stackName,
      migrationId: plan.id,
      gates: plan.gates,
      dimensions,
      settings: props.alarmSettings,
      tags,
    }).alarms;

    this.dashboard = new MigrationDashboard(this, "dashboard", {
      stackName,
      migrationId: plan.id,
      region: account.region,
      dimensions,
      alarmArns: this.alarms.map((alarm) => alarm.resource.arn),
    });

    if (this.alarms.length > 0) {
      this.dispatchRule = new AlarmDispatchRule(this, "alarm-dispatch", {
        stackName,
        migrationId: plan.id,
        alarmNames: this.alarms.map((alarm) => alarm.name),
        destination: props.dispatchDestination(),
        guardian: {
          functionArn: props.guardian.function.arn,
          functionName: props.guardian.function.functionName,
          deadLetterQueueArn: props.guardian.deadLetterQueue.arn,
        },
        tags,
      });
    }

    // The gate reads the API id from the spec's telemetry; after the first apply it must be this value.
    new TerraformOutput(this, "api-id", {
      value: this.newSide.api.id,
      description: `HTTP API id of ${plan.id}: newSide.telemetry.apiId in migrations.json must equal it`,
    }).overrideLogicalId(`api_id_${plan.id.replace(/-/g, "_")}`);

    if (plan.loadTested) {
      // The load tests' target: the new side alone, whatever the weighted record says.
      new TerraformOutput(this, "load-test-url", {
        value:
          plan.newSide.telemetry.stage === "$default"
            ? `${this.newSide.api.apiEndpoint}/`
            : `${this.newSide.api.apiEndpoint}/${plan.newSide.telemetry.stage}/`,
        description: `Base URL of ${plan.id}'s new side for its load tests: the CUTOVER_TARGET_URL variable of the GitHub environment`,
      }).overrideLogicalId(`load_test_url_${plan.id.replace(/-/g, "_")}`);
    }

    const oldSide = plan.oldSide;
    this.accessTarget = {
      id: plan.id,
      hostedZoneArn: `arn:${account.partition}:route53:::hostedzone/${plan.router.hostedZoneId}`,
      recordName: normalizeRecordName(plan.router.recordName),
      recordType: plan.router.recordType,
      functionArn: this.newSide.function.arn,
      aliasArn: this.newSide.alias.arn,
      serviceArn: `arn:${account.partition}:ecs:${account.region}:${account.accountId}:service/${oldSide.cluster}/${oldSide.service}`,
      taskRoleArns: (plan.settings.ecsTaskRoleNames ?? defaultTaskRoleNames(oldSide.service)).map(
        (name) => `arn:${account.partition}:iam::${account.accountId}:role/${name}`,
      ),
      checkpointBucketArn: props.guardian.bucket.arn,
      checkpointObjectArns: props.guardian.checkpointObjectArns(plan.id),
    };
    this.guarded = {
      id: plan.id,
      hostedZoneArn: this.accessTarget.hostedZoneArn,
      recordName: this.accessTarget.recordName,
      recordType: this.accessTarget.recordType,
      serviceArn: this.accessTarget.serviceArn,
      clusterArn: `arn:${account.partition}:ecs:${account.region}:${account.accountId}:cluster/${oldSide.cluster}`,
      functionArn: this.accessTarget.functionArn,
      aliasArn: this.accessTarget.aliasArn,
    };
  }
}

/** Route 53 compares record names lowercase and without the trailing dot in its IAM condition keys. */
export function normalizeRecordName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** The task and execution role names assumed when the configuration does not list them. */
export function defaultTaskRoleNames(service: string): string[] {
  return [`${service}-task`, `${service}-task-execution`];
}
