/**
 * How GitHub Actions reach AWS: the account's GitHub OIDC identity provider,
 * a read-only role for plans and monitoring, and one deploy role per GitHub
 * environment, allowed exactly what the cutover actions call on exactly the
 * resources of the migrations whose phases run in that environment.
 */
import { DataAwsIamOpenidConnectProvider } from "@cdktn/provider-aws/lib/data-aws-iam-openid-connect-provider/index.js";
import { IamOpenidConnectProvider } from "@cdktn/provider-aws/lib/iam-openid-connect-provider/index.js";
import { IamRole } from "@cdktn/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktn/provider-aws/lib/iam-role-policy/index.js";
import { TerraformOutput } from "cdktn";
import { Construct } from "constructs";
import { actingEnvironment, PHASE_WORKFLOWS, ROLLBACK_WORKFLOWS } from "../../src/model/github-oidc.js";
import type { GitHubRepositoryConfig } from "../inputs/config.js";
import type { DeployGrant, DeployRolePlan } from "../inputs/plan.js";
import { type PolicyStatement, policyDocument, trustDocument, weightChangeStatement } from "./iam-policy.js";
import { awsName, NAME_LIMITS } from "./names.js";

export const GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com";
const OIDC_HOST = "token.actions.githubusercontent.com";

/**
 * Mutating ECS actions that IAM only authorizes on `"*"` (the Service
 * Authorization Reference lists no resource type for them). They are granted
 * in statements of their own, only to the deploy roles of environments whose
 * phases call them, and the tests hold every other mutating action to ARNs.
 */
export const ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = [
  "ecs:RegisterTaskDefinition",
  "ecs:DeregisterTaskDefinition",
] as const;

/** The AWS resources of one migration that roles are scoped to. */
export interface MigrationAccessTarget {
  id: string;
  hostedZoneArn: string;
  /** Lowercase, without the trailing dot: the form Route 53's normalized record name condition compares. */
  recordName: string;
  recordType: string;
  functionArn: string;
  aliasArn: string;
  serviceArn: string;
  taskRoleArns: string[];
  /** The checkpoint store bucket and this migration's checkpoint and journal objects. */
  checkpointBucketArn: string;
  checkpointObjectArns: string[];
}

export interface GitHubAccessProps {
  stackName: string;
  github: GitHubRepositoryConfig;
  oidcProvider: "create" | "existing";
  /** GitHub environments served by this stack. */
  githubEnvironments: string[];
  /** The reviewer-less environment of rollbacks and the monitor, when the stack has one. */
  rollbackEnvironment?: string;
  deployRoles: DeployRolePlan[];
  targets: MigrationAccessTarget[];
  partition: string;
  tags: Record<string, string>;
}

export class GitHubAccess extends Construct {
  readonly readOnlyRole: IamRole;
  readonly deployRoles = new Map<string, IamRole>();

  constructor(scope: Construct, id: string, props: GitHubAccessProps) {
    super(scope, id);
    const providerArn =
      props.oidcProvider === "create"
        ? new IamOpenidConnectProvider(this, "github-oidc", {
            url: GITHUB_OIDC_URL,
            clientIdList: ["sts.amazonaws.com"],
            tags: props.tags,
          }).arn
        : new DataAwsIamOpenidConnectProvider(this, "github-oidc", { url: GITHUB_OIDC_URL }).arn;

    // Every job that may act runs in a reviewer-less environment only the
    // default branch may deploy to; its role trusts only that environment,
    // that ref and the workflow the job belongs to, so a branch's copy of a
    // workflow cannot assume it even where the environment would let it in.
    const phaseSubjects = (environment: string) =>
      PHASE_WORKFLOWS.map((workflow) => jobSubject(props.github, actingEnvironment(environment), workflow));
    const rollbackSubjects = (environment: string) =>
      ROLLBACK_WORKFLOWS.map((workflow) => jobSubject(props.github, environment, workflow));
    const subjectsFor = (environment: string) =>
      environment === props.rollbackEnvironment ? rollbackSubjects(environment) : phaseSubjects(environment);
    this.readOnlyRole = new IamRole(this, "read-only-role", {
      name: awsName("IAM role", NAME_LIMITS.iamRole, props.stackName, "github-read-only"),
      description:
        "cutover plans and monitoring from GitHub Actions: reads records, metrics, services and functions",
      assumeRolePolicy: githubTrust(providerArn, [
        // The jobs of this stack's environments, on the default branch, in their own workflows.
        ...props.githubEnvironments.flatMap(phaseSubjects),
        ...(props.rollbackEnvironment !== undefined ? rollbackSubjects(props.rollbackEnvironment) : []),
      ]),
      maxSessionDuration: 3600,
      tags: props.tags,
    });
    new IamRolePolicy(this, "read-only-policy", {
      name: "cutover-read-only",
      role: this.readOnlyRole.id,
      policy: policyDocument(readStatements(props.targets, props.partition)),
    });
    new TerraformOutput(this, "read-only-role-arn", {
      value: this.readOnlyRole.arn,
      description: "Role for plan and monitor jobs (role-to-assume of aws-actions/configure-aws-credentials)",
    }).overrideLogicalId("read_only_role_arn");

    for (const plan of props.deployRoles) {
      const role = new IamRole(this, `deploy-role-${plan.githubEnvironment}`, {
        name: awsName("IAM role", NAME_LIMITS.iamRole, props.stackName, "deploy", plan.githubEnvironment),
        description: `cutover actions in GitHub environment ${plan.githubEnvironment}: shift, rollback, deploy, decommission`,
        assumeRolePolicy: githubTrust(providerArn, subjectsFor(plan.githubEnvironment)),
        maxSessionDuration: 3600,
        tags: { ...props.tags, "cutover:github-environment": plan.githubEnvironment },
      });
      new IamRolePolicy(this, `deploy-policy-${plan.githubEnvironment}`, {
        name: "cutover-deploy",
        role: role.id,
        policy: policyDocument(deployStatements(plan, props.targets, props.partition)),
      });
      new TerraformOutput(this, `deploy-role-arn-${plan.githubEnvironment}`, {
        value: role.arn,
        description: `Role for jobs in GitHub environment ${plan.githubEnvironment}`,
      }).overrideLogicalId(`deploy_role_arn_${plan.githubEnvironment.replace(/[^A-Za-z0-9_]/g, "_")}`);
      this.deployRoles.set(plan.githubEnvironment, role);
    }
  }
}

/**
 * The subject GitHub puts in a job's OIDC token under OIDC_SUBJECT_CLAIMS:
 * each claim as key:value, the context of a job with an environment being
 * `environment:<name>`, the workflow as owner/repo/path@ref.
 */
export function jobSubject(github: GitHubRepositoryConfig, environment: string, workflow: string): string {
  const repository = `${github.owner}/${github.repository}`;
  const ref = `refs/heads/${github.defaultBranch}`;
  // A repository calling a released cutover runs its jobs in cutover's workflows, at the ref it pinned.
  const workflows = github.workflows ?? { repository, ref };
  return [
    `repo:${repository}`,
    `environment:${environment}`,
    `ref:${ref}`,
    `job_workflow_ref:${workflows.repository}/.github/workflows/${workflow}@${workflows.ref}`,
  ].join(":");
}

/** Web identity trust for GitHub's OIDC tokens with exactly these subjects and the STS audience. */
function githubTrust(providerArn: string, subjects: string[]): string {
  return trustDocument([
    {
      Sid: "GitHubActions",
      Effect: "Allow",
      Principal: { Federated: providerArn },
      Action: ["sts:AssumeRoleWithWebIdentity"],
      Condition: {
        StringEquals: { [`${OIDC_HOST}:aud`]: "sts.amazonaws.com", [`${OIDC_HOST}:sub`]: subjects },
      },
    },
  ]);
}

/** What plans, gates and reconciliation read. */
function readStatements(targets: MigrationAccessTarget[], partition: string): PolicyStatement[] {
  if (targets.length === 0) return [metricsRead()];
  return [
    {
      Sid: "ReadWeightedRecords",
      Effect: "Allow",
      Action: ["route53:GetHostedZone", "route53:ListResourceRecordSets"],
      Resource: unique(targets.map((target) => target.hostedZoneArn)),
    },
    {
      Sid: "ReadChangeStatus",
      Effect: "Allow",
      Action: ["route53:GetChange"],
      Resource: [`arn:${partition}:route53:::change/*`],
    },
    metricsRead(),
    {
      Sid: "ReadServices",
      Effect: "Allow",
      Action: ["ecs:DescribeServices"],
      Resource: targets.map((target) => target.serviceArn),
    },
    {
      // DescribeTaskDefinition and ListTaskDefinitions have no resource-level permissions; both only read.
      Sid: "ReadTaskDefinitions",
      Effect: "Allow",
      Action: ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"],
      Resource: ["*"],
    },
    {
      Sid: "ReadFunctions",
      Effect: "Allow",
      Action: [
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
        "lambda:GetFunctionConcurrency",
        "lambda:GetAlias",
        "lambda:ListAliases",
        "lambda:ListVersionsByFunction",
      ],
      Resource: targets.flatMap((target) => [target.functionArn, `${target.functionArn}:*`]),
    },
  ];
}

function metricsRead(): PolicyStatement {
  // GetMetricData has no resource-level permissions; it only reads.
  return { Sid: "ReadMetrics", Effect: "Allow", Action: ["cloudwatch:GetMetricData"], Resource: ["*"] };
}

/** Read statements plus, per migration, the writes its grants allow. */
export function deployStatements(
  plan: DeployRolePlan,
  allTargets: MigrationAccessTarget[],
  partition: string,
): PolicyStatement[] {
  const targets = plan.migrations.flatMap((entry) => {
    const target = allTargets.find((candidate) => candidate.id === entry.id);
    return target ? [{ target, grants: new Set(entry.grants) }] : [];
  });
  const statements = readStatements(
    targets.map(({ target }) => target),
    partition,
  );
  for (const { target, grants } of targets) statements.push(...writeStatements(target, grants));
  const registers = targets.some(({ grants }) => grants.has("deploy-old"));
  const deregisters = targets.some(({ grants }) => grants.has("deregister-task-definitions"));
  if (registers) {
    statements.push({
      Sid: "RegisterTaskDefinitionNoResourceLevel",
      Effect: "Allow",
      Action: ["ecs:RegisterTaskDefinition"],
      Resource: ["*"],
    });
  }
  if (deregisters) {
    statements.push({
      Sid: "DeregisterTaskDefinitionNoResourceLevel",
      Effect: "Allow",
      Action: ["ecs:DeregisterTaskDefinition"],
      Resource: ["*"],
    });
  }
  return statements;
}

function writeStatements(target: MigrationAccessTarget, grants: Set<DeployGrant>): PolicyStatement[] {
  const sid = pascal(target.id);
  const statements: PolicyStatement[] = [];
  if (grants.has("traffic")) {
    statements.push(
      // The shift and rollback change batches, as a compare-and-swap so concurrent writers cannot overwrite each other.
      weightChangeStatement(`ShiftWeights${sid}`, target),
      {
        // Rollback scales a decommissioned old side back up before any weight returns to it.
        Sid: `ScaleOldSide${sid}`,
        Effect: "Allow",
        Action: ["ecs:UpdateService"],
        Resource: [target.serviceArn],
      },
      {
        Sid: `MoveAlias${sid}`,
        Effect: "Allow",
        Action: ["lambda:UpdateAlias"],
        Resource: [target.functionArn, target.aliasArn],
      },
      {
        // shift-traffic, rollback and deploy write the checkpoint the guardian restores (and read its journal).
        Sid: `Checkpoint${sid}`,
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
        Resource: target.checkpointObjectArns,
      },
      {
        Sid: `ListCheckpoint${sid}`,
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [target.checkpointBucketArn],
        Condition: {
          StringLike: { "s3:prefix": [`checkpoints/${target.id}.json`, `journal/${target.id}/*`] },
        },
      },
    );
  }
  if (grants.has("deploy-new")) {
    statements.push({
      Sid: `DeployNewSide${sid}`,
      Effect: "Allow",
      Action: ["lambda:UpdateFunctionCode", "lambda:PublishVersion"],
      Resource: [target.functionArn],
    });
  }
  if (grants.has("deploy-old") && target.taskRoleArns.length > 0) {
    statements.push({
      Sid: `PassTaskRoles${sid}`,
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: target.taskRoleArns,
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    });
  }
  if (grants.has("decommission")) {
    statements.push({
      Sid: `DeleteOldSide${sid}`,
      Effect: "Allow",
      Action: ["ecs:DeleteService"],
      Resource: [target.serviceArn],
    });
  }
  return statements;
}

function pascal(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
