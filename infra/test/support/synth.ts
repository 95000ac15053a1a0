/**
 * Synthesizes the cutover stacks in-process (no Terraform, no CLI) and gives
 * tests typed access to the resulting Terraform JSON.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, Testing } from "cdktn";
import type { MigrationsFile } from "../../../src/model/spec.js";
import { addCutoverStacks } from "../../app.js";
import { type InfraConfig, parseInfraConfig } from "../../inputs/config.js";
import { readSpecForInfra } from "../../inputs/spec.js";

export const INFRA_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = join(INFRA_DIR, "test", "fixtures");
export const EXAMPLE_SPEC = join(INFRA_DIR, "..", "migrations.json");

/** The synthesized Terraform JSON of one stack. */
export interface StackJson {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data: Record<string, Record<string, Record<string, unknown>>>;
  variable: Record<string, Record<string, unknown>>;
  output: Record<string, Record<string, unknown>>;
  provider: Record<string, Record<string, unknown>[]>;
}

/** Reads a JSON configuration file the way main.ts does (paths resolved against the file). */
export function configFromFile(file: string, env: Record<string, string | undefined> = {}): InfraConfig {
  const config = parseInfraConfig(JSON.parse(readFileSync(file, "utf8")), file, env);
  // Tests never depend on a build: a fixed hash stands in for the guardian's package.
  return { ...config, guardian: { zipPath: config.guardian.zipPath, sourceCodeHash: GUARDIAN_FIXTURE_HASH } };
}

/** The source code hash tests give the guardian function instead of reading a built package. */
export const GUARDIAN_FIXTURE_HASH = "Zml4dHVyZS1ndWFyZGlhbi1wYWNrYWdl";

/** Synthesizes every stack for `spec` and `config`; returns each stack's JSON by environment name. */
export function synthesize(spec: MigrationsFile | string, config: InfraConfig): Map<string, StackJson> {
  const specFile = typeof spec === "string" ? readSpecForInfra(spec) : spec;
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), "cutover-infra-")), stackTraces: false });
  const stacks = addCutoverStacks(app, specFile, config);
  const result = new Map<string, StackJson>();
  for (const [name, stack] of stacks) {
    const json = JSON.parse(Testing.synth(stack, true)) as Partial<StackJson>;
    result.set(name, {
      resource: json.resource ?? {},
      data: json.data ?? {},
      variable: json.variable ?? {},
      output: json.output ?? {},
      provider: json.provider ?? {},
    });
  }
  return result;
}

/** The resources of one type as [logical id, body] pairs. */
export function resources(stack: StackJson, type: string): [string, Record<string, unknown>][] {
  return Object.entries(stack.resource[type] ?? {});
}

/** The single resource of `type` whose logical id starts with `prefix`; fails loudly when not exactly one. */
export function one(stack: StackJson, type: string, prefix: string): Record<string, unknown> {
  const matches = resources(stack, type).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) {
    throw new Error(
      `expected one ${type} starting with ${prefix}, found ${matches.map(([id]) => id).join(", ") || "none"}`,
    );
  }
  return matches[0]![1];
}

/** An IAM policy statement as rendered. */
export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string[];
  Resource?: string[];
  Principal?: Record<string, string>;
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** The statements of a policy document string. */
export function statements(document: unknown): Statement[] {
  return (JSON.parse(String(document)) as { Statement: Statement[] }).Statement;
}

/** A Terraform reference to a resource attribute, e.g. `${aws_lambda_alias.<id>.arn}`. */
export function ref(type: string, logicalId: string, attribute: string): string {
  return `\${${type}.${logicalId}.${attribute}}`;
}

/** The logical id of the single resource of `type` starting with `prefix`. */
export function logicalId(stack: StackJson, type: string, prefix: string): string {
  const ids = resources(stack, type)
    .map(([id]) => id)
    .filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(", ") || "none"}`);
  return ids[0]!;
}

/** A Terraform interpolation of `expression`, as it appears in synthesized strings. */
export function tf(expression: string): string {
  return `\${${expression}}`;
}
