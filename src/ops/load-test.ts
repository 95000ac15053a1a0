/**
 * Runs an Artillery scenario against a target and judges it from the JSON
 * report: the spec's load-test step gives the thresholds, the report gives
 * the figures, and Artillery's exit status decides nothing.
 */
import { spawn } from "node:child_process";
import { access, constants, mkdir, readFile } from "node:fs/promises";
import { delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { ActionReport } from "../action/summary.js";
import { type PhasePlan, planPhases } from "../core/load-test/phases.js";
import { type LoadTestFigures, readArtilleryReport } from "../core/load-test/report.js";
import { type LoadTestEvidence, loadTestEvidence, loadTestReport } from "../core/load-test/summary.js";
import { judgeLoadTest, type LoadTestJudgement } from "../core/load-test/verdict.js";
import type { LoadTestStep, LoadTestThresholds, Migration, MigrationsFile } from "../model/spec.js";
import { type OperationLog, OperationRefusal } from "./journal.js";

/** The Artillery version installed when the runner has none. */
export const PINNED_ARTILLERY_VERSION = "2.0.34";

export interface LoadTestRequest {
  /**
   * Repository root: the spec path, a scenario given as an input and the report are relative to it (a spec's
   * scenarios are relative to the spec's directory), and its node_modules/.bin is searched first.
   */
  workspace: string;
  scenario?: string;
  target?: string;
  specPath?: string;
  migrationId?: string;
  phase?: string;
  /** Index among the phase's load-test steps, or a scenario path. */
  step?: string;
  /** Thresholds given directly; they override the step's. */
  thresholds: LoadTestThresholds;
  reportPath: string;
  /** Where a pinned Artillery is installed when none is found (RUNNER_TEMP). */
  installDir: string;
  artilleryVersion?: string;
  /** Kill Artillery after this long; defaults to the planned duration plus two minutes. */
  timeoutSeconds?: number;
}

export interface LoadTestOutcome {
  evidence: LoadTestEvidence;
  figures: LoadTestFigures;
  plan: PhasePlan;
  judgement: LoadTestJudgement;
  report: ActionReport;
  artillery: { command: string; source: string; exitCode: number | null };
}

export interface LoadTestDependencies {
  log: OperationLog;
  env?: NodeJS.ProcessEnv;
}

interface ResolvedStep {
  scenario: string;
  /** What a relative scenario path is relative to: the spec's directory for a spec step, as validation checks it. */
  baseDir: string;
  target?: string;
  thresholds: LoadTestThresholds;
  from: string;
}

async function exists(path: string, mode = constants.F_OK): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

async function readSpecMigration(specPath: string, migrationId: string): Promise<Migration> {
  let spec: MigrationsFile;
  try {
    spec = JSON.parse(await readFile(specPath, "utf8")) as MigrationsFile;
  } catch (error) {
    throw new OperationRefusal(`input "spec": cannot read ${specPath} as JSON (${(error as Error).message})`);
  }
  const migration = spec.migrations?.find((candidate) => candidate.id === migrationId);
  if (!migration) {
    throw new OperationRefusal(
      `input "migration": no migration "${migrationId}" in ${specPath}; it defines ${(spec.migrations ?? []).map((m) => `"${m.id}"`).join(", ") || "none"}`,
    );
  }
  return migration;
}

/** Finds the load-test step the inputs name, in the phase they name (the spec's phase by default). */
export function findLoadTestStep(
  migration: Migration,
  phaseName: string | undefined,
  step: string | undefined,
  scenario: string | undefined,
): Omit<ResolvedStep, "baseDir"> {
  const name = phaseName ?? migration.phase;
  const phase = migration.phases.find((candidate) => candidate.name === name);
  if (!phase) {
    throw new OperationRefusal(
      `input "phase": "${migration.id}" has no phase "${name}"; phases: ${migration.phases.map((p) => p.name).join(", ")}`,
    );
  }
  const steps = phase.steps.filter((candidate): candidate is LoadTestStep => candidate.kind === "load-test");
  const listing = steps.map((candidate, index) => `${index}: ${candidate.scenario}`).join(", ") || "none";
  let found: LoadTestStep | undefined;
  let index: number;
  if (step !== undefined && /^\d+$/.test(step)) {
    index = Number(step);
    found = steps[index];
    if (!found)
      throw new OperationRefusal(
        `input "step": phase "${name}" has no load-test step ${step}; its load-test steps are ${listing}`,
      );
  } else {
    const wanted = step ?? scenario;
    if (wanted === undefined) {
      throw new OperationRefusal(
        `input "step": give the load-test step (index or scenario) of phase "${name}"; its load-test steps are ${listing}`,
      );
    }
    index = steps.findIndex((candidate) => candidate.scenario === wanted);
    found = steps[index];
    if (!found)
      throw new OperationRefusal(
        `input "step": phase "${name}" has no load-test step for "${wanted}"; its load-test steps are ${listing}`,
      );
  }
  return {
    scenario: found.scenario,
    ...(found.target ? { target: found.target } : {}),
    thresholds: found.thresholds ?? {},
    from: `${migration.id} phase ${name} load-test step ${index}`,
  };
}

async function resolveStep(request: LoadTestRequest): Promise<ResolvedStep> {
  if (request.migrationId) {
    const specFile = resolve(request.workspace, request.specPath ?? "migrations.json");
    const migration = await readSpecMigration(specFile, request.migrationId);
    const step = findLoadTestStep(migration, request.phase, request.step, request.scenario);
    if (request.scenario && request.scenario !== step.scenario && request.step !== undefined) {
      throw new OperationRefusal(
        `input "scenario": "${request.scenario}" differs from the scenario of ${step.from} ("${step.scenario}"); give one or the other`,
      );
    }
    return { ...step, baseDir: dirname(specFile), thresholds: { ...step.thresholds, ...request.thresholds } };
  }
  if (!request.scenario) {
    throw new OperationRefusal('input "scenario": required when no "migration" names a load-test step');
  }
  return {
    scenario: request.scenario,
    baseDir: request.workspace,
    thresholds: request.thresholds,
    from: "inputs",
  };
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && (await exists(join(dir, name), constants.X_OK))) return join(dir, name);
  }
  return undefined;
}

function runProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; log: OperationLog; label: string },
): Promise<{ exitCode: number | null; timedOut: boolean; tail: string[] }> {
  return new Promise((resolvePromise, reject) => {
    // A process group of its own, so a timeout also stops the workers Artillery starts.
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const tail: string[] = [];
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        options.log.info(options.label, { line });
      }
    };
    child.stdout.on("data", onLine);
    child.stderr.on("data", onLine);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ exitCode: code, timedOut, tail });
    });
  });
}

/**
 * The Artillery to run: the repository's own (node_modules/.bin), else one on
 * PATH, else the pinned version installed with npm into `installDir`.
 */
export async function locateArtillery(
  workspace: string,
  installDir: string,
  version: string,
  log: OperationLog,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ command: string; source: string }> {
  const local = join(workspace, "node_modules", ".bin", "artillery");
  if (await exists(local, constants.X_OK)) return { command: local, source: "node_modules/.bin" };
  const onPath = await findOnPath("artillery", env);
  if (onPath) return { command: onPath, source: "PATH" };
  const prefix = join(installDir, `artillery-${version}`);
  const installed = join(prefix, "node_modules", ".bin", "artillery");
  if (!(await exists(installed, constants.X_OK))) {
    await mkdir(prefix, { recursive: true });
    log.info("installing artillery", { version, prefix });
    const result = await runProcess(
      "npm",
      ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, `artillery@${version}`],
      { cwd: prefix, env, timeoutMs: 5 * 60_000, log, label: "npm" },
    );
    if (result.exitCode !== 0 || !(await exists(installed, constants.X_OK))) {
      throw new OperationRefusal(
        `could not install artillery@${version} with npm (exit ${result.exitCode}${result.timedOut ? ", timed out" : ""}): ${result.tail.slice(-5).join(" | ")}`,
      );
    }
  }
  return { command: installed, source: `npm install artillery@${version}` };
}

/** An input's path is relative to the repository root, a spec's to the spec's directory. */
function inside(workspace: string, path: string): string {
  return isAbsolute(path) ? path : resolve(workspace, path);
}

/** Runs the scenario, reads the report, judges it. Throws only when no verdict can be reached. */
export async function runLoadTest(
  request: LoadTestRequest,
  deps: LoadTestDependencies,
): Promise<LoadTestOutcome> {
  const env = deps.env ?? process.env;
  const step = await resolveStep(request);
  const target = request.target ?? step.target;
  if (!target) throw new OperationRefusal(`input "target": required (no target in ${step.from})`);
  if (!/^https?:\/\/[^\s]+$/.test(target)) {
    throw new OperationRefusal(
      `input "target": "${target}" is not an http(s) URL such as https://staging.example.com`,
    );
  }
  const scenarioPath = inside(step.baseDir, step.scenario);
  let scenarioText: string;
  try {
    scenarioText = await readFile(scenarioPath, "utf8");
  } catch (error) {
    throw new OperationRefusal(
      `scenario ${step.scenario} (${step.from}) cannot be read: ${(error as Error).message}`,
    );
  }
  let plan: PhasePlan;
  try {
    plan = planPhases(parseYaml(scenarioText), step.scenario);
  } catch (error) {
    throw new OperationRefusal((error as Error).message);
  }
  const artillery = await locateArtillery(
    request.workspace,
    request.installDir,
    request.artilleryVersion ?? PINNED_ARTILLERY_VERSION,
    deps.log,
    env,
  );
  const reportPath = inside(request.workspace, request.reportPath);
  await mkdir(dirname(reportPath), { recursive: true });
  const timeoutSeconds = request.timeoutSeconds ?? Math.ceil(plan.seconds) + 120;
  deps.log.info("running artillery", {
    scenario: step.scenario,
    target,
    artillery: artillery.source,
    planned_s: plan.seconds,
    requested_rate: plan.rate,
  });
  const run = await runProcess(
    artillery.command,
    ["run", "--output", reportPath, "--target", target, scenarioPath],
    {
      cwd: request.workspace,
      env: { ...env, ARTILLERY_DISABLE_TELEMETRY: "true", TARGET_URL: target },
      timeoutMs: timeoutSeconds * 1000,
      log: deps.log,
      label: "artillery",
    },
  );
  if (run.timedOut) {
    throw new OperationRefusal(
      `Artillery did not finish within ${timeoutSeconds} s (scenario ${step.scenario}); it was stopped`,
    );
  }
  let reportText: string;
  try {
    reportText = await readFile(reportPath, "utf8");
  } catch {
    throw new OperationRefusal(
      `Artillery exited with ${run.exitCode} and wrote no report at ${relative(request.workspace, reportPath)}: ${run.tail.slice(-5).join(" | ")}`,
    );
  }
  let figures: LoadTestFigures;
  try {
    figures = readArtilleryReport(JSON.parse(reportText), reportPath);
  } catch (error) {
    throw new OperationRefusal(
      `the Artillery report ${reportPath} cannot be read: ${(error as Error).message}`,
    );
  }
  const judgement = judgeLoadTest(figures, plan, step.thresholds);
  const evidence = loadTestEvidence({
    scenario: step.scenario,
    target,
    reportPath,
    figures,
    plan,
    thresholds: step.thresholds,
    judgement,
  });
  deps.log.info("load test judged", {
    verdict: judgement.verdict,
    requests: figures.requests,
    error_rate: figures.errorRate,
    p95: figures.latency?.p95,
    rate_ratio: judgement.rate.ratio,
    artillery_exit: run.exitCode,
  });
  return {
    evidence,
    figures,
    plan,
    judgement,
    report: loadTestReport(evidence, figures, plan, judgement),
    artillery: { ...artillery, exitCode: run.exitCode },
  };
}
