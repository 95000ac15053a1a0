/**
 * Builds the CDK Terrain app: reads the configuration and the spec, plans the
 * stacks, and adds one {@link CutoverEnvironmentStack} per environment.
 */
import type { App } from "cdktn";
import type { MigrationsFile } from "../src/model/spec.js";
import { type InfraConfig, loadInfraConfig } from "./inputs/config.js";
import { planStacks } from "./inputs/plan.js";
import { readSpecForInfra } from "./inputs/spec.js";
import { CutoverEnvironmentStack } from "./stacks/environment-stack.js";

/** Adds every environment's stack to `app`; returns them by environment name. */
export function addCutoverStacks(
  app: App,
  spec: MigrationsFile,
  config: InfraConfig,
): Map<string, CutoverEnvironmentStack> {
  const stacks = new Map<string, CutoverEnvironmentStack>();
  for (const plan of planStacks(spec, config))
    stacks.set(plan.name, new CutoverEnvironmentStack(app, plan, config));
  return stacks;
}

/** Reads the configuration file and the spec it names, and builds the stacks into `app`. */
export function buildCutoverApp(
  app: App,
  configFile: string,
  env: Record<string, string | undefined> = process.env,
) {
  const config = loadInfraConfig(configFile, env);
  const spec = readSpecForInfra(env["CUTOVER_SPEC"] ?? config.specPath);
  return addCutoverStacks(app, spec, config);
}
