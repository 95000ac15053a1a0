/**
 * The fast rollback path: a rollback alarm entering ALARM becomes a GitHub
 * `repository_dispatch` (event type `cutover-alarm`) within seconds, and the
 * monitor workflow, which listens for it, runs the gate and rolls back without
 * waiting for its schedule.
 *
 * The GitHub connection, API destination and the role EventBridge uses to call
 * it are one per stack (one repository, one token); each migration gets its own
 * rule and target, so an alarm names the migration it belongs to.
 */
import { CloudwatchEventApiDestination } from "@cdktn/provider-aws/lib/cloudwatch-event-api-destination/index.js";
import { CloudwatchEventConnection } from "@cdktn/provider-aws/lib/cloudwatch-event-connection/index.js";
import { CloudwatchEventRule } from "@cdktn/provider-aws/lib/cloudwatch-event-rule/index.js";
import { CloudwatchEventTarget } from "@cdktn/provider-aws/lib/cloudwatch-event-target/index.js";
import { DataAwsSecretsmanagerSecretVersion } from "@cdktn/provider-aws/lib/data-aws-secretsmanager-secret-version/index.js";
import { IamRole } from "@cdktn/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktn/provider-aws/lib/iam-role-policy/index.js";
import { LambdaPermission } from "@cdktn/provider-aws/lib/lambda-permission/index.js";
import { TerraformVariable } from "cdktn";
import { Construct } from "constructs";
import type { DispatchTokenSource, GitHubRepositoryConfig } from "../inputs/config.js";
import { policyDocument, trustDocument } from "./iam-policy.js";
import { awsName, NAME_LIMITS } from "./names.js";

/** The `repository_dispatch` event type the monitor workflow listens for. */
export const ALARM_EVENT_TYPE = "cutover-alarm";

export interface GitHubDispatchDestinationProps {
  stackName: string;
  github: GitHubRepositoryConfig;
  token: DispatchTokenSource;
  accountId: string;
  tags: Record<string, string>;
}

/** The GitHub API as an EventBridge API destination, authenticated with a token that never appears in code. */
export class GitHubDispatchDestination extends Construct {
  readonly destination: CloudwatchEventApiDestination;
  readonly invokeRole: IamRole;
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: GitHubDispatchDestinationProps) {
    super(scope, id);
    const token = this.token(props.token);

    const connection = new CloudwatchEventConnection(this, "connection", {
      name: awsName("EventBridge connection", NAME_LIMITS.eventConnection, props.stackName, "github"),
      description: `GitHub API for ${props.github.owner}/${props.github.repository} (repository_dispatch)`,
      authorizationType: "API_KEY",
      authParameters: {
        // EventBridge keeps the key's value in a Secrets Manager secret it manages.
        apiKey: { key: "Authorization", value: `Bearer ${token}` },
        invocationHttpParameters: {
          header: [
            { key: "Accept", value: "application/vnd.github+json", isValueSecret: false },
            { key: "X-GitHub-Api-Version", value: "2022-11-28", isValueSecret: false },
          ],
        },
      },
    });

    this.endpoint = `https://api.github.com/repos/${props.github.owner}/${props.github.repository}/dispatches`;
    this.destination = new CloudwatchEventApiDestination(this, "api-destination", {
      name: awsName("API destination", NAME_LIMITS.apiDestination, props.stackName, "github-dispatch"),
      description: "POST repository_dispatch to the repository that runs the cutover workflows",
      connectionArn: connection.arn,
      invocationEndpoint: this.endpoint,
      httpMethod: "POST",
      // GitHub's secondary rate limits punish bursts; a storm of alarms needs one dispatch each, not fifty a second.
      invocationRateLimitPerSecond: 1,
    });

    this.invokeRole = new IamRole(this, "invoke-role", {
      name: awsName("IAM role", NAME_LIMITS.iamRole, props.stackName, "github-dispatch"),
      description: "Lets EventBridge call the GitHub repository_dispatch API destination",
      assumeRolePolicy: trustDocument([
        {
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: ["sts:AssumeRole"],
          Condition: { StringEquals: { "aws:SourceAccount": props.accountId } },
        },
      ]),
      tags: props.tags,
    });
    new IamRolePolicy(this, "invoke-policy", {
      name: "invoke-github-dispatch",
      role: this.invokeRole.id,
      policy: policyDocument([
        {
          Sid: "InvokeGitHubDispatch",
          Effect: "Allow",
          Action: ["events:InvokeApiDestination"],
          Resource: [this.destination.arn],
        },
      ]),
    });
  }

  private token(source: DispatchTokenSource): string {
    if (source.source === "secrets-manager") {
      return new DataAwsSecretsmanagerSecretVersion(this, "token-secret", { secretId: source.secretId })
        .secretString;
    }
    const variable = new TerraformVariable(this, "github_dispatch_token", {
      type: "string",
      sensitive: true,
      nullable: false,
      description:
        "GitHub token allowed to create repository_dispatch events (fine-grained: Contents read and write on the repository). Pass it as TF_VAR_github_dispatch_token from a secret.",
    });
    variable.overrideLogicalId("github_dispatch_token");
    return variable.stringValue;
  }
}

export interface AlarmDispatchRuleProps {
  stackName: string;
  migrationId: string;
  alarmNames: string[];
  destination: GitHubDispatchDestination;
  /** The environment's guardian function and its dead-letter queue: the first target of the rule. */
  guardian: { functionArn: string; functionName: string; deadLetterQueueArn: string };
  tags: Record<string, string>;
}

/** The EventBridge pattern that matches these alarms entering ALARM (and nothing else). */
export function alarmStateChangePattern(alarmNames: string[]) {
  return {
    source: ["aws.cloudwatch"],
    "detail-type": ["CloudWatch Alarm State Change"],
    detail: { alarmName: [...alarmNames], state: { value: ["ALARM"] } },
  };
}

/**
 * The body GitHub receives. The migration id is fixed per rule; the alarm name
 * comes from the event, inserted as a JSON string by EventBridge.
 */
export function dispatchInputTemplate(migrationId: string): string {
  return `{"event_type":${JSON.stringify(ALARM_EVENT_TYPE)},"client_payload":{"migration":${JSON.stringify(migrationId)},"alarm":<alarm>,"state":<state>,"time":<time>}}`;
}

/**
 * One migration's rule: its rollback alarms entering ALARM invoke the guardian,
 * which rolls back inside the account, and send a dispatch naming the
 * migration, from which git catches up (status file, issue, monitor run).
 */
export class AlarmDispatchRule extends Construct {
  readonly rule: CloudwatchEventRule;

  constructor(scope: Construct, id: string, props: AlarmDispatchRuleProps) {
    super(scope, id);
    this.rule = new CloudwatchEventRule(this, "rule", {
      name: awsName("EventBridge rule", NAME_LIMITS.eventRule, props.stackName, props.migrationId, "alarm"),
      description: `Rollback alarms of cutover migration ${props.migrationId} entering ALARM → guardian, repository_dispatch ${ALARM_EVENT_TYPE}`,
      eventPattern: JSON.stringify(alarmStateChangePattern(props.alarmNames)),
      tags: props.tags,
    });
    new CloudwatchEventTarget(this, "guardian-target", {
      rule: this.rule.name,
      targetId: "cutover-guardian",
      arn: props.guardian.functionArn,
      // The whole alarm event: the guardian reads the alarm name and its tags' migration from it.
      // EventBridge retries a refused async invoke (throttle, service error) with backoff, then dead-letters.
      retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 10 },
      deadLetterConfig: { arn: props.guardian.deadLetterQueueArn },
    });
    new LambdaPermission(this, "guardian-permission", {
      statementId: `cutover-alarm-${props.migrationId}`,
      action: "lambda:InvokeFunction",
      functionName: props.guardian.functionName,
      principal: "events.amazonaws.com",
      sourceArn: this.rule.arn,
    });
    new CloudwatchEventTarget(this, "dispatch-target", {
      rule: this.rule.name,
      targetId: "github-repository-dispatch",
      arn: props.destination.destination.arn,
      roleArn: props.destination.invokeRole.arn,
      inputTransformer: {
        inputPaths: { alarm: "$.detail.alarmName", state: "$.detail.state.value", time: "$.time" },
        inputTemplate: dispatchInputTemplate(props.migrationId),
      },
      // A rollback signal is worth retrying for a while, but not after the scheduled monitor would have acted anyway.
      retryPolicy: { maximumEventAgeInSeconds: 900, maximumRetryAttempts: 20 },
    });
  }
}
