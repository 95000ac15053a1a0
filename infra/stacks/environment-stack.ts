/**
 * One stack per environment of the infrastructure configuration (staging,
 * production, ...): one AWS account and region, its own Terraform state, and
 * every migration that has a phase in one of the environment's GitHub
 * environments.
 */
import { DataAwsCallerIdentity } from "@cdktn/provider-aws/lib/data-aws-caller-identity/index.js";
import { DataAwsPartition } from "@cdktn/provider-aws/lib/data-aws-partition/index.js";
import { AwsProvider } from "@cdktn/provider-aws/lib/provider/index.js";
import { S3Backend, TerraformStack, TerraformVariable } from "cdktn";
import type { Construct } from "constructs";
import { GitHubDispatchDestination } from "../constructs/alarm-dispatch.js";
import { GitHubAccess } from "../constructs/github-access.js";
import { Guardian } from "../constructs/guardian.js";
import { type AccountContext, MigrationCutover } from "../constructs/migration-cutover.js";
import type { InfraConfig } from "../inputs/config.js";
import type { StackPlan } from "../inputs/plan.js";

export class CutoverEnvironmentStack extends TerraformStack {
  readonly migrations = new Map<string, MigrationCutover>();
  readonly access: GitHubAccess;
  readonly guardian: Guardian;
  private dispatch?: GitHubDispatchDestination;

  constructor(scope: Construct, plan: StackPlan, config: InfraConfig) {
    super(scope, plan.name);
    const { environment } = plan;
    new AwsProvider(this, "aws", {
      region: environment.region,
      defaultTags: [{ tags: { "cutover:environment": plan.name, "cutover:managed-by": "cdktn" } }],
    });
    if (environment.backend) {
      new S3Backend(this, {
        bucket: environment.backend.bucket,
        key: `${environment.backend.keyPrefix}/${plan.name}.tfstate`,
        region: environment.backend.region,
        encrypt: true,
        useLockfile: true,
      });
    }

    const account: AccountContext = {
      accountId: new DataAwsCallerIdentity(this, "current").accountId,
      partition: new DataAwsPartition(this, "partition").partition,
      region: environment.region,
    };
    const codeBucket = new TerraformVariable(this, "lambda_code_bucket", {
      type: "string",
      nullable: false,
      description: "S3 bucket holding each new-side function's first code package",
    });
    codeBucket.overrideLogicalId("lambda_code_bucket");

    this.guardian = new Guardian(this, "guardian", {
      stackName: plan.name,
      migrationIds: plan.migrations.map((migration) => migration.id),
      code: config.guardian,
      accountId: account.accountId,
      partition: account.partition,
      region: account.region,
      tags: {},
      ...(environment.guardianNotifyTopicArn ? { notifyTopicArn: environment.guardianNotifyTopicArn } : {}),
    });

    for (const migration of plan.migrations) {
      this.migrations.set(
        migration.id,
        new MigrationCutover(this, migration.id, {
          stackName: plan.name,
          plan: migration,
          account,
          alarmSettings: config.alarms,
          codeBucket: codeBucket.stringValue,
          dispatchDestination: () => this.dispatchDestination(plan.name, config, account),
          guardian: this.guardian,
        }),
      );
    }
    const migrations = [...this.migrations.values()];
    this.guardian.guard(
      migrations.map((migration) => migration.guarded),
      migrations.flatMap((migration) => (migration.dispatchRule ? [migration.dispatchRule.rule.arn] : [])),
    );

    this.access = new GitHubAccess(this, "github-access", {
      stackName: plan.name,
      github: config.github,
      oidcProvider: environment.oidcProvider,
      githubEnvironments: environment.githubEnvironments,
      ...(environment.rollbackEnvironment !== undefined
        ? { rollbackEnvironment: environment.rollbackEnvironment }
        : {}),
      deployRoles: plan.deployRoles,
      targets: [...this.migrations.values()].map((migration) => migration.accessTarget),
      partition: account.partition,
      tags: {},
    });
  }

  /** The GitHub dispatch destination is shared by the stack's migrations on purpose: one repository, one token. */
  private dispatchDestination(stackName: string, config: InfraConfig, account: AccountContext) {
    this.dispatch ??= new GitHubDispatchDestination(this, "github-dispatch", {
      stackName,
      github: config.github,
      token: config.dispatchToken,
      accountId: account.accountId,
      tags: {},
    });
    return this.dispatch;
  }
}
