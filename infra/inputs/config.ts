/**
 * The infrastructure configuration: what `migrations.json` cannot say because
 * it is about where things run (AWS accounts and regions, the GitHub repository,
 * which GitHub environments each stack serves) rather than what people want.
 *
 * Read from `infra/config.json` by default; `CUTOVER_INFRA_CONFIG` names another
 * file and `CUTOVER_GITHUB_REPOSITORY` ("owner/repo") overrides the repository.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository whose workflows assume the roles and receive `repository_dispatch`. */
export interface GitHubRepositoryConfig {
  owner: string;
  repository: string;
  /** Branch whose workflow runs (schedule, repository_dispatch) may use the read-only role. */
  defaultBranch: string;
  /**
   * Where the jobs' workflows live, as GitHub writes them in the OIDC claim job_workflow_ref: a repository
   * that calls a released cutover runs its jobs in cutover's reusable workflows at the pinned ref
   * ("acme/cutover" at "refs/tags/v1.2.0"); absent, the repository's own workflows on its default branch.
   */
  workflows?: { repository: string; ref: string };
}

/** Where the GitHub token that sends `repository_dispatch` comes from; never the code. */
export type DispatchTokenSource = { source: "variable" } | { source: "secrets-manager"; secretId: string };

/** Hosted zone and record name of one migration in one environment, when they differ from the spec's. */
export interface RouterOverride {
  hostedZoneId: string;
  recordName: string;
}

/** One stack: one AWS account and region, serving one or more GitHub environments. */
export interface EnvironmentConfig {
  region: string;
  /** GitHub environments (the phases' `environment` values) whose jobs run against this stack. */
  githubEnvironments: string[];
  /** "create" makes the account's GitHub OIDC provider; "existing" looks it up (one per account). */
  oidcProvider: "create" | "existing";
  /**
   * GitHub environment of the monitor and rollback workflows' jobs (no required
   * reviewers: a breach must roll back at once). Its role may only roll back.
   */
  rollbackEnvironment?: string;
  /** Per migration id: the record this environment routes, when not the spec's. */
  routers: Record<string, RouterOverride>;
  /** Remote state; local state when absent. */
  backend?: { kind: "s3"; bucket: string; keyPrefix: string; region: string };
  /** SNS topic of this account the guardian announces its rollbacks to (its role may publish only there). */
  guardianNotifyTopicArn?: string;
}

/** The new side's function settings that the spec does not carry. */
export interface LambdaSettings {
  runtime: string;
  handler: string;
  memoryMb?: number;
  timeoutSeconds: number;
  architecture: "arm64" | "x86_64";
}

/** Per-migration settings; every field has a documented default. */
export interface MigrationInfraConfig {
  lambda: LambdaSettings;
  /** IAM roles the ECS task definition uses, which a deploy of the old side must pass. Role names. */
  ecsTaskRoleNames?: string[];
  /** ACM certificate for the API Gateway custom domain; looked up by the record name when absent. */
  certificateArn?: string;
}

/** How alarms judge datapoints (the thresholds themselves always come from the spec). */
export interface AlarmSettings {
  evaluationPeriods: number;
  datapointsToAlarm: number;
  /**
   * Custom namespaces whose metrics are published at high resolution
   * (StorageResolution 1): alarms on them may use 10 s or 30 s periods.
   */
  highResolutionNamespaces: string[];
}

/**
 * Where the guardian's code package comes from. `zipPath` is read at synthesis
 * time to set the function's source code hash; `sourceCodeHash`, when given,
 * is used instead of reading the file (tests synthesize without a build).
 */
export interface GuardianCodeConfig {
  zipPath: string;
  sourceCodeHash?: string;
}

export interface InfraConfig {
  /** Absolute path of `migrations.json`. */
  specPath: string;
  github: GitHubRepositoryConfig;
  dispatchToken: DispatchTokenSource;
  environments: Record<string, EnvironmentConfig>;
  migrations: Record<string, Partial<MigrationInfraConfig>>;
  alarms: AlarmSettings;
  guardian: GuardianCodeConfig;
}

/** A configuration file that does not have the expected shape; names the file and every JSON path at fault. */
export class InfraConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file} is not a valid infrastructure configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "InfraConfigError";
  }
}

export const DEFAULT_LAMBDA_SETTINGS: LambdaSettings = {
  runtime: "nodejs22.x",
  handler: "index.handler",
  // API Gateway HTTP APIs give up after 30 s; a longer function timeout only hides failures.
  timeoutSeconds: 29,
  architecture: "arm64",
};

const NAME_PATTERN = /^[a-z][a-z0-9-]*$/;
const GITHUB_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** Reads and checks the configuration file; relative `specPath` is resolved against the file's folder. */
export function loadInfraConfig(
  file: string,
  env: Record<string, string | undefined> = process.env,
): InfraConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new InfraConfigError(file, [`cannot be read as JSON: ${(error as Error).message}`]);
  }
  return parseInfraConfig(raw, file, env);
}

/** Checks an already-parsed configuration object; `file` is only used to resolve paths and name errors. */
export function parseInfraConfig(
  raw: unknown,
  file: string,
  env: Record<string, string | undefined> = process.env,
): InfraConfig {
  const problems: string[] = [];
  const root = asObject(raw, "$", problems) ?? {};

  const specPath = optionalString(root, "specPath", "$", problems) ?? "../migrations.json";
  const github = readGitHub(root["github"], env, problems);
  const dispatchToken = readDispatchToken(root["dispatchToken"], problems);
  const environments = readEnvironments(root["environments"], problems);
  const migrations = readMigrations(root["migrations"], problems);
  const alarms = readAlarms(root["alarms"], problems);
  const guardian = readGuardian(root["guardian"], dirname(file), problems);

  if (problems.length > 0) throw new InfraConfigError(file, problems);
  return {
    specPath: resolve(dirname(file), specPath),
    github,
    dispatchToken,
    environments,
    guardian,
    migrations,
    alarms,
  };
}

function readGitHub(
  value: unknown,
  env: Record<string, string | undefined>,
  problems: string[],
): GitHubRepositoryConfig {
  const fromEnv = env["CUTOVER_GITHUB_REPOSITORY"];
  const section = value === undefined ? {} : (asObject(value, "$.github", problems) ?? {});
  let owner = optionalString(section, "owner", "$.github", problems);
  let repository = optionalString(section, "repository", "$.github", problems);
  if (fromEnv !== undefined && fromEnv !== "") {
    const [envOwner, envRepo, ...rest] = fromEnv.split("/");
    if (!envOwner || !envRepo || rest.length > 0) {
      problems.push(`CUTOVER_GITHUB_REPOSITORY is "${fromEnv}": expected "owner/repository"`);
    } else {
      owner = envOwner;
      repository = envRepo;
    }
  }
  if (owner === undefined || repository === undefined) {
    problems.push(
      '$.github: owner and repository are required (or set CUTOVER_GITHUB_REPOSITORY="owner/repository")',
    );
  }
  for (const [path, name] of [
    ["$.github.owner", owner],
    ["$.github.repository", repository],
  ] as const) {
    if (name !== undefined && !GITHUB_NAME_PATTERN.test(name)) {
      problems.push(`${path} is "${name}": only letters, digits, ".", "_" and "-" are allowed`);
    }
  }
  const defaultBranch = optionalString(section, "defaultBranch", "$.github", problems) ?? "main";
  const workflows = readWorkflowSource(section["workflows"], problems);
  return {
    owner: owner ?? "",
    repository: repository ?? "",
    defaultBranch,
    ...(workflows ? { workflows } : {}),
  };
}

/** `$.github.workflows`: the repository and exact ref of cutover's reusable workflows the jobs run in. */
function readWorkflowSource(value: unknown, problems: string[]): GitHubRepositoryConfig["workflows"] {
  if (value === undefined) return undefined;
  const section = asObject(value, "$.github.workflows", problems);
  if (!section) return undefined;
  const repository = optionalString(section, "repository", "$.github.workflows", problems);
  const ref = optionalString(section, "ref", "$.github.workflows", problems);
  if (repository === undefined || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository))
    problems.push(
      `$.github.workflows.repository is ${JSON.stringify(repository)}: expected "owner/repository" of cutover's workflows`,
    );
  // GitHub writes the ref in full in job_workflow_ref; a short or moving name would never match a token.
  if (ref === undefined || !/^refs\/(tags|heads)\/[^\s*?]+$|^[0-9a-f]{40}$/.test(ref))
    problems.push(
      `$.github.workflows.ref is ${JSON.stringify(ref)}: expected the full ref the callers pin ("refs/tags/v1.2.0") or a 40-character commit SHA`,
    );
  return repository && ref ? { repository, ref } : undefined;
}

function readDispatchToken(value: unknown, problems: string[]): DispatchTokenSource {
  if (value === undefined) return { source: "variable" };
  const section = asObject(value, "$.dispatchToken", problems);
  if (!section) return { source: "variable" };
  const source = section["source"];
  if (source === "variable") return { source };
  if (source === "secrets-manager") {
    const secretId = stringAt(section, "secretId", "$.dispatchToken", problems) ?? "";
    return { source, secretId };
  }
  problems.push(
    `$.dispatchToken.source is ${JSON.stringify(source)}: expected "variable" or "secrets-manager"`,
  );
  return { source: "variable" };
}

function readEnvironments(value: unknown, problems: string[]): Record<string, EnvironmentConfig> {
  const section = asObject(value, "$.environments", problems);
  if (!section) return {};
  const names = Object.keys(section);
  if (names.length === 0) problems.push("$.environments: at least one environment (stack) is required");
  const result: Record<string, EnvironmentConfig> = {};
  for (const name of names) {
    const path = `$.environments.${name}`;
    if (!NAME_PATTERN.test(name)) {
      problems.push(
        `${path}: the name must be lowercase letters, digits and dashes (it names AWS resources)`,
      );
    }
    const entry = asObject(section[name], path, problems);
    if (!entry) continue;
    const region = stringAt(entry, "region", path, problems) ?? "";
    const githubEnvironments = stringListAt(entry, "githubEnvironments", path, problems);
    if (githubEnvironments.length === 0) {
      problems.push(`${path}.githubEnvironments: list at least one GitHub environment this stack serves`);
    }
    const oidcProvider = entry["oidcProvider"] ?? "create";
    if (oidcProvider !== "create" && oidcProvider !== "existing") {
      problems.push(
        `${path}.oidcProvider is ${JSON.stringify(oidcProvider)}: expected "create" or "existing"`,
      );
    }
    const rollbackEnvironment = optionalString(entry, "rollbackEnvironment", path, problems);
    if (rollbackEnvironment !== undefined && githubEnvironments.includes(rollbackEnvironment)) {
      problems.push(
        `${path}.rollbackEnvironment "${rollbackEnvironment}" is also one of its githubEnvironments: the rollback environment must be one of its own`,
      );
    }
    const guardianNotifyTopicArn = optionalString(entry, "guardianNotifyTopicArn", path, problems);
    if (
      guardianNotifyTopicArn !== undefined &&
      !new RegExp(
        `^arn:aws[a-z-]*:sns:${region.replace(/[^a-z0-9-]/g, "")}:\\d{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$`,
      ).test(guardianNotifyTopicArn)
    )
      problems.push(
        `${path}.guardianNotifyTopicArn is ${JSON.stringify(guardianNotifyTopicArn)}: expected an SNS topic ARN in this environment's region (arn:aws:sns:${region}:<account>:<topic>)`,
      );
    result[name] = {
      region,
      githubEnvironments,
      ...(guardianNotifyTopicArn !== undefined ? { guardianNotifyTopicArn } : {}),
      ...(rollbackEnvironment !== undefined ? { rollbackEnvironment } : {}),
      oidcProvider: oidcProvider === "existing" ? "existing" : "create",
      routers: readRouterOverrides(entry["routers"], `${path}.routers`, problems),
      backend: readBackend(entry["backend"], `${path}.backend`, problems),
    };
  }
  return result;
}

function readRouterOverrides(
  value: unknown,
  path: string,
  problems: string[],
): Record<string, RouterOverride> {
  if (value === undefined) return {};
  const section = asObject(value, path, problems);
  if (!section) return {};
  const result: Record<string, RouterOverride> = {};
  for (const [id, entry] of Object.entries(section)) {
    const object = asObject(entry, `${path}.${id}`, problems);
    if (!object) continue;
    result[id] = {
      hostedZoneId: stringAt(object, "hostedZoneId", `${path}.${id}`, problems) ?? "",
      recordName: stringAt(object, "recordName", `${path}.${id}`, problems) ?? "",
    };
  }
  return result;
}

function readBackend(value: unknown, path: string, problems: string[]): EnvironmentConfig["backend"] {
  if (value === undefined) return undefined;
  const section = asObject(value, path, problems);
  if (!section) return undefined;
  if (section["kind"] !== "s3") {
    problems.push(`${path}.kind is ${JSON.stringify(section["kind"])}: only "s3" is supported`);
    return undefined;
  }
  return {
    kind: "s3",
    bucket: stringAt(section, "bucket", path, problems) ?? "",
    keyPrefix: optionalString(section, "keyPrefix", path, problems) ?? "cutover",
    region: stringAt(section, "region", path, problems) ?? "",
  };
}

function readMigrations(value: unknown, problems: string[]): Record<string, Partial<MigrationInfraConfig>> {
  if (value === undefined) return {};
  const section = asObject(value, "$.migrations", problems);
  if (!section) return {};
  const result: Record<string, Partial<MigrationInfraConfig>> = {};
  for (const [id, entry] of Object.entries(section)) {
    const path = `$.migrations.${id}`;
    const object = asObject(entry, path, problems);
    if (!object) continue;
    const settings: Partial<MigrationInfraConfig> = {};
    if (object["lambda"] !== undefined)
      settings.lambda = readLambda(object["lambda"], `${path}.lambda`, problems);
    if (object["ecsTaskRoleNames"] !== undefined) {
      settings.ecsTaskRoleNames = stringListAt(object, "ecsTaskRoleNames", path, problems);
    }
    const certificateArn = optionalString(object, "certificateArn", path, problems);
    if (certificateArn !== undefined) settings.certificateArn = certificateArn;
    result[id] = settings;
  }
  return result;
}

function readLambda(value: unknown, path: string, problems: string[]): LambdaSettings {
  const section = asObject(value, path, problems) ?? {};
  const architecture = section["architecture"] ?? DEFAULT_LAMBDA_SETTINGS.architecture;
  if (architecture !== "arm64" && architecture !== "x86_64") {
    problems.push(`${path}.architecture is ${JSON.stringify(architecture)}: expected "arm64" or "x86_64"`);
  }
  const settings: LambdaSettings = {
    runtime: optionalString(section, "runtime", path, problems) ?? DEFAULT_LAMBDA_SETTINGS.runtime,
    handler: optionalString(section, "handler", path, problems) ?? DEFAULT_LAMBDA_SETTINGS.handler,
    timeoutSeconds:
      positiveIntegerAt(section, "timeoutSeconds", path, problems) ?? DEFAULT_LAMBDA_SETTINGS.timeoutSeconds,
    architecture: architecture === "x86_64" ? "x86_64" : "arm64",
  };
  const memoryMb = positiveIntegerAt(section, "memoryMb", path, problems);
  if (memoryMb !== undefined) settings.memoryMb = memoryMb;
  return settings;
}

/** The package `npm run build` writes, relative to the repository root (this file lives in infra/inputs/). */
export const DEFAULT_GUARDIAN_ZIP = fileURLToPath(
  new URL("../../guardian/dist/guardian.zip", import.meta.url),
);

function readGuardian(value: unknown, baseDir: string, problems: string[]): GuardianCodeConfig {
  if (value === undefined) return { zipPath: DEFAULT_GUARDIAN_ZIP };
  const section = asObject(value, "$.guardian", problems) ?? {};
  const zipPath = optionalString(section, "zipPath", "$.guardian", problems);
  return { zipPath: zipPath === undefined ? DEFAULT_GUARDIAN_ZIP : resolve(baseDir, zipPath) };
}

function readAlarms(value: unknown, problems: string[]): AlarmSettings {
  const section = value === undefined ? {} : (asObject(value, "$.alarms", problems) ?? {});
  const evaluationPeriods = positiveIntegerAt(section, "evaluationPeriods", "$.alarms", problems) ?? 3;
  const datapointsToAlarm = positiveIntegerAt(section, "datapointsToAlarm", "$.alarms", problems) ?? 2;
  if (datapointsToAlarm > evaluationPeriods) {
    problems.push(
      `$.alarms.datapointsToAlarm (${datapointsToAlarm}) must not exceed evaluationPeriods (${evaluationPeriods})`,
    );
  }
  const highResolutionNamespaces =
    section["highResolutionNamespaces"] === undefined
      ? []
      : stringListAt(section, "highResolutionNamespaces", "$.alarms", problems);
  for (const namespace of highResolutionNamespaces) {
    if (namespace.startsWith("AWS/")) {
      problems.push(
        `$.alarms.highResolutionNamespaces lists "${namespace}": AWS service namespaces publish one-minute metrics; list only custom namespaces published with StorageResolution 1`,
      );
    }
  }
  return { evaluationPeriods, datapointsToAlarm, highResolutionNamespaces };
}

// ---------------------------------------------------------------------------
// Small readers that record a problem with its JSON path instead of throwing,
// so one run reports everything wrong with the file.

function asObject(value: unknown, path: string, problems: string[]): Record<string, unknown> | undefined {
  if (typeof value === "object" && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  problems.push(`${path} must be an object, got ${describe(value)}`);
  return undefined;
}

function stringAt(object: Record<string, unknown>, key: string, path: string, problems: string[]) {
  const value = object[key];
  if (typeof value === "string" && value !== "") return value;
  problems.push(`${path}.${key} must be a non-empty string, got ${describe(value)}`);
  return undefined;
}

function optionalString(object: Record<string, unknown>, key: string, path: string, problems: string[]) {
  if (object[key] === undefined) return undefined;
  return stringAt(object, key, path, problems);
}

function stringListAt(
  object: Record<string, unknown>,
  key: string,
  path: string,
  problems: string[],
): string[] {
  const value = object[key];
  if (Array.isArray(value) && value.every((item) => typeof item === "string" && item !== "")) return value;
  problems.push(`${path}.${key} must be a list of non-empty strings, got ${describe(value)}`);
  return [];
}

function positiveIntegerAt(object: Record<string, unknown>, key: string, path: string, problems: string[]) {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  problems.push(`${path}.${key} must be a positive integer, got ${describe(value)}`);
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  return value === null ? "null" : `${typeof value} ${JSON.stringify(value)}`;
}
