/**
 * Decides, without building anything, which stacks exist and what each one
 * holds: the pure step between the spec plus the infrastructure configuration
 * and the constructs. Keeping it pure lets the rules (which migration lands in
 * which stack, which gates get alarms, which permissions each GitHub
 * environment's deploy role gets) be read and tested on their own.
 */
import type {
  EcsTargetSpec,
  GateSpec,
  LambdaTargetSpec,
  Migration,
  MigrationsFile,
} from "../../src/model/spec.js";
import {
  DEFAULT_LAMBDA_SETTINGS,
  type EnvironmentConfig,
  type InfraConfig,
  type MigrationInfraConfig,
} from "./config.js";

/** The weighted record pair a migration's router manages in one environment. */
export interface RouterPlan {
  hostedZoneId: string;
  recordName: string;
  recordType: "A" | "AAAA";
  oldSetIdentifier: string;
  newSetIdentifier: string;
}

/** The new side as the infrastructure builds it (the spec's telemetry narrowed to an HTTP API). */
export type LambdaHttpTarget = LambdaTargetSpec & {
  telemetry: Extract<LambdaTargetSpec["telemetry"], { kind: "apigateway-http" }>;
};

/** One migration inside one stack. */
export interface MigrationPlan {
  id: string;
  migration: Migration;
  router: RouterPlan;
  oldSide: EcsTargetSpec;
  newSide: LambdaHttpTarget;
  /** Gates that a bake step of this stack's environments judges: those get rollback alarms. */
  gates: { name: string; gate: GateSpec }[];
  /** A phase of this stack's environments load-tests the new side, which must then be reachable directly. */
  loadTested: boolean;
  settings: MigrationInfraConfig;
}

/**
 * What a deploy role may do for one migration. `traffic` (weights, scaling the
 * old side back up, pointing the alias back) is always granted because rollback
 * must be possible from every phase; the rest follows the steps of the phases
 * that run in the role's GitHub environment.
 */
export type DeployGrant =
  | "traffic"
  | "deploy-new"
  | "deploy-old"
  | "decommission"
  | "deregister-task-definitions";

/** The deploy role of one GitHub environment. */
export interface DeployRolePlan {
  githubEnvironment: string;
  migrations: { id: string; grants: DeployGrant[] }[];
}

/** One stack: one environment of the configuration. */
export interface StackPlan {
  name: string;
  environment: EnvironmentConfig;
  migrations: MigrationPlan[];
  deployRoles: DeployRolePlan[];
}

/** The spec and configuration disagree; every message names where. */
export class InfraPlanError extends Error {
  constructor(readonly problems: string[]) {
    super(`The stacks cannot be planned:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "InfraPlanError";
  }
}

/** Plans every stack of the configuration for the given spec. Throws {@link InfraPlanError} listing all problems. */
export function planStacks(spec: MigrationsFile, config: InfraConfig): StackPlan[] {
  const problems: string[] = [];
  const stackOfGitHubEnvironment = indexGitHubEnvironments(config, problems);

  spec.migrations.forEach((migration, index) => {
    migration.phases.forEach((phase, phaseIndex) => {
      if (!stackOfGitHubEnvironment.has(phase.environment)) {
        problems.push(
          `migrations.json $.migrations[${index}].phases[${phaseIndex}].environment is "${phase.environment}", which no stack serves: add it to environments.<stack>.githubEnvironments in the infrastructure configuration`,
        );
      }
    });
  });
  for (const id of Object.keys(config.migrations)) {
    if (!spec.migrations.some((migration) => migration.id === id)) {
      problems.push(`configuration $.migrations.${id} names no migration of migrations.json`);
    }
  }

  const stacks = Object.entries(config.environments).map(([name, environment]) =>
    planStack(name, environment, spec, config, problems),
  );
  problems.push(...findSharedRecords(stacks));
  if (problems.length > 0) throw new InfraPlanError(problems);
  return stacks;
}

function indexGitHubEnvironments(config: InfraConfig, problems: string[]): Map<string, string> {
  const stackOf = new Map<string, string>();
  for (const [name, environment] of Object.entries(config.environments)) {
    const own = [...environment.githubEnvironments];
    if (environment.rollbackEnvironment !== undefined) own.push(environment.rollbackEnvironment);
    for (const githubEnvironment of own) {
      const other = stackOf.get(githubEnvironment);
      if (other !== undefined) {
        problems.push(
          `configuration: GitHub environment "${githubEnvironment}" is listed by both environments.${other} and environments.${name}; each must belong to one stack`,
        );
      }
      stackOf.set(githubEnvironment, name);
    }
  }
  return stackOf;
}

function planStack(
  name: string,
  environment: EnvironmentConfig,
  spec: MigrationsFile,
  config: InfraConfig,
  problems: string[],
): StackPlan {
  const served = new Set(environment.githubEnvironments);
  const migrations: MigrationPlan[] = [];
  for (const migration of spec.migrations) {
    const phases = migration.phases.filter((phase) => served.has(phase.environment));
    if (phases.length === 0) continue;
    const gateNames = new Set<string>();
    for (const phase of phases) {
      for (const step of phase.steps) if (step.kind === "bake") gateNames.add(step.gate);
    }
    const gates = [...gateNames].map((gateName) => {
      const gate = migration.gates[gateName];
      if (!gate) {
        problems.push(
          `migrations.json: migration "${migration.id}" bakes with gate "${gateName}", which it does not define`,
        );
      }
      return { name: gateName, gate: gate ?? { period: "1m", minSamples: 0, metrics: [] } };
    });
    const override = environment.routers[migration.id];
    migrations.push({
      id: migration.id,
      migration,
      router: {
        ...(migration.router as RouterPlan),
        ...(override ? { hostedZoneId: override.hostedZoneId, recordName: override.recordName } : {}),
      },
      oldSide: migration.oldSide as EcsTargetSpec,
      newSide: migration.newSide as LambdaHttpTarget,
      gates,
      loadTested: phases.some((phase) => phase.steps.some((step) => step.kind === "load-test")),
      settings: migrationSettings(migration, config),
    });
  }
  for (const id of Object.keys(environment.routers)) {
    if (!migrations.some((plan) => plan.id === id)) {
      problems.push(
        `configuration $.environments.${name}.routers.${id}: migration "${id}" has no phase in this stack's GitHub environments`,
      );
    }
  }

  const deployRoles = environment.githubEnvironments.map((githubEnvironment) => ({
    githubEnvironment,
    migrations: spec.migrations
      .filter((migration) => migration.phases.some((phase) => phase.environment === githubEnvironment))
      .map((migration) => ({ id: migration.id, grants: grantsFor(migration, githubEnvironment) })),
  }));
  if (environment.rollbackEnvironment !== undefined) {
    // The monitor and rollback workflows act on any migration of the stack, but may only roll back.
    deployRoles.push({
      githubEnvironment: environment.rollbackEnvironment,
      migrations: migrations.map((plan) => ({ id: plan.id, grants: ["traffic"] as DeployGrant[] })),
    });
  }
  return { name, environment, migrations, deployRoles };
}

function migrationSettings(migration: Migration, config: InfraConfig): MigrationInfraConfig {
  const configured = config.migrations[migration.id] ?? {};
  const lambda = { ...DEFAULT_LAMBDA_SETTINGS, ...configured.lambda };
  if (lambda.memoryMb === undefined && migration.cost?.lambdaMemoryMb !== undefined) {
    // The cost projection was computed for this memory size; building another would make it wrong.
    lambda.memoryMb = migration.cost.lambdaMemoryMb;
  }
  return { ...configured, lambda };
}

/** The permissions the phases running in `githubEnvironment` need for `migration`. */
export function grantsFor(migration: Migration, githubEnvironment: string): DeployGrant[] {
  const grants = new Set<DeployGrant>(["traffic"]);
  for (const phase of migration.phases) {
    if (phase.environment !== githubEnvironment) continue;
    for (const step of phase.steps) {
      if (step.kind === "deploy") grants.add(step.side === "new" ? "deploy-new" : "deploy-old");
      if (step.kind === "decommission") {
        grants.add("decommission");
        if (step.deregisterTaskDefinitions) grants.add("deregister-task-definitions");
      }
    }
  }
  return [...grants];
}

/** Two stacks managing the same weighted record would fight over it; refuse that with the fix. */
function findSharedRecords(stacks: StackPlan[]): string[] {
  const owner = new Map<string, string>();
  const problems: string[] = [];
  for (const stack of stacks) {
    for (const plan of stack.migrations) {
      const key = `${plan.router.hostedZoneId}/${plan.router.recordName.toLowerCase()}`;
      const other = owner.get(key);
      if (other !== undefined) {
        problems.push(
          `record ${plan.router.recordName} in hosted zone ${plan.router.hostedZoneId} would be managed by both ${other} and stack "${stack.name}" (migration "${plan.id}"): give one of them its own record in environments.${stack.name}.routers.${plan.id} ({ "hostedZoneId", "recordName" })`,
        );
      } else {
        owner.set(key, `stack "${stack.name}" (migration "${plan.id}")`);
      }
    }
  }
  return problems;
}
