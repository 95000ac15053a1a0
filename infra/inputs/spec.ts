/**
 * Reads `migrations.json` for the infrastructure. The full validation lives
 * with the spec model; the infrastructure only checks the fields it turns into
 * resources, so a malformed spec fails here with the JSON path at fault rather
 * than as an obscure Terraform error later.
 */
import { readFileSync } from "node:fs";
import type { Migration, MigrationsFile } from "../../src/model/spec.js";

/** The spec cannot be turned into infrastructure; names the file and each JSON path at fault. */
export class InfraSpecError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} cannot be turned into infrastructure:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "InfraSpecError";
  }
}

/** Reads the spec file and checks the parts the stacks are generated from. */
export function readSpecForInfra(file: string): MigrationsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new InfraSpecError(file, [`cannot be read as JSON: ${(error as Error).message}`]);
  }
  const problems = checkSpecForInfra(raw);
  if (problems.length > 0) throw new InfraSpecError(file, problems);
  return raw as MigrationsFile;
}

/**
 * Structural check of what the stacks use: ids, the Route 53 router, an ECS old
 * side behind an ALB, a Lambda new side behind an API Gateway HTTP API, gates and
 * phases. Returns one message per problem, each with its JSON path.
 */
export function checkSpecForInfra(raw: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(raw)) return ["$ must be an object with `version` and `migrations`"];
  if (raw["version"] !== 1) problems.push(`$.version is ${JSON.stringify(raw["version"])}: expected 1`);
  const migrations = raw["migrations"];
  if (!Array.isArray(migrations)) return [...problems, "$.migrations must be a list"];
  const seen = new Set<string>();
  migrations.forEach((migration, index) => {
    const path = `$.migrations[${index}]`;
    if (!isObject(migration)) {
      problems.push(`${path} must be an object`);
      return;
    }
    const id = migration["id"];
    if (typeof id !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(id)) {
      problems.push(`${path}.id must be lowercase letters, digits and dashes, got ${JSON.stringify(id)}`);
    } else if (seen.has(id)) {
      problems.push(`${path}.id "${id}" is used by an earlier migration`);
    } else {
      seen.add(id);
    }
    problems.push(...checkMigration(migration as unknown as Migration, path));
  });
  return problems;
}

function checkMigration(migration: Migration, path: string): string[] {
  const problems: string[] = [];
  const router = migration.router as unknown;
  if (!isObject(router) || router["kind"] !== "route53") {
    problems.push(`${path}.router.kind must be "route53" (the only router the infrastructure builds)`);
  } else {
    for (const key of ["hostedZoneId", "recordName", "oldSetIdentifier", "newSetIdentifier"]) {
      if (typeof router[key] !== "string" || router[key] === "") {
        problems.push(`${path}.router.${key} must be a non-empty string`);
      }
    }
    if (router["recordType"] !== "A" && router["recordType"] !== "AAAA") {
      problems.push(
        `${path}.router.recordType is ${JSON.stringify(router["recordType"])}: alias records to API Gateway and a load balancer must be "A" or "AAAA"`,
      );
    }
  }
  const oldSide = migration.oldSide as unknown;
  if (!isObject(oldSide) || oldSide["kind"] !== "ecs" || !isObject(oldSide["telemetry"])) {
    problems.push(`${path}.oldSide must be an "ecs" target with "alb" telemetry (the reference case)`);
  } else if (oldSide["telemetry"]["kind"] !== "alb") {
    problems.push(`${path}.oldSide.telemetry.kind must be "alb"`);
  }
  const newSide = migration.newSide as unknown;
  if (!isObject(newSide) || newSide["kind"] !== "lambda" || !isObject(newSide["telemetry"])) {
    problems.push(
      `${path}.newSide must be a "lambda" target with "apigateway-http" telemetry (the reference case)`,
    );
  } else if (newSide["telemetry"]["kind"] !== "apigateway-http") {
    problems.push(
      `${path}.newSide.telemetry.kind is ${JSON.stringify(newSide["telemetry"]["kind"])}: the infrastructure builds an HTTP API, so it must be "apigateway-http"`,
    );
  }
  if (!isObject(migration.gates)) problems.push(`${path}.gates must be an object of named gates`);
  if (!Array.isArray(migration.phases) || migration.phases.length === 0) {
    problems.push(`${path}.phases must be a non-empty list`);
  } else {
    migration.phases.forEach((phase, index) => {
      if (!isObject(phase) || typeof phase.environment !== "string" || phase.environment === "") {
        problems.push(`${path}.phases[${index}].environment must be a non-empty string`);
      } else if (!Array.isArray(phase.steps)) {
        problems.push(`${path}.phases[${index}].steps must be a list`);
      }
    });
  }
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
