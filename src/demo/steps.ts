/**
 * The steps of a migration's phases as the apply and monitor workflows run
 * them: promote the phase in migrations.json (the merged pull request), run
 * the action, record its outcome in the status. Each returns what it saw so
 * the acts can tell the story and the summary can show the figures.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MigrationsFile } from "../model/spec.js";
import type { Verdict } from "../model/status.js";
import { type BackgroundTraffic, describeSplit } from "./background.js";
import { type DemoContext, DemoStepError, seconds, sleep } from "./context.js";
import { failureMessage, type StepRun } from "./runner.js";
import { commitAndPush, git } from "./workspace.js";

/** Brings the checkout up to date with the remote (the state store commits there). */
export async function syncCheckout(context: DemoContext): Promise<void> {
  const repo = context.workspace.repo;
  await git(repo, ["fetch", "--quiet", "origin", "main"]);
  await git(repo, ["reset", "--quiet", "--hard", "origin/main"]);
}

/** The merged pull request that moves a migration to `phase` in migrations.json. */
export async function promote(context: DemoContext, migration: string, phase: string): Promise<void> {
  await syncCheckout(context);
  const spec = JSON.parse(await readFile(context.workspace.specPath, "utf8")) as MigrationsFile;
  const entry = spec.migrations.find((candidate) => candidate.id === migration);
  if (!entry) throw new DemoStepError(`the demo spec has no migration ${migration}`);
  if (entry.phase === phase) return;
  entry.phase = phase;
  await writeFile(context.workspace.specPath, `${JSON.stringify(spec, null, 2)}\n`);
  const commit = await commitAndPush(
    context.workspace.repo,
    ["migrations.json"],
    `Promote ${migration} to ${phase}`,
  );
  context.progress.step(
    `migrations.json: ${migration} → phase ${context.progress.paint("bold", phase)} (commit ${commit})`,
  );
}

/**
 * reconcile, as every apply job starts: compares the recorded status with what
 * AWS reports and records an applied but unrecorded change. Skipped (and
 * said so once) when the action has not been built.
 */
export async function reconcile(context: DemoContext, migration: string): Promise<void> {
  if (!context.runner.has("reconcile")) {
    const note = "actions/reconcile/dist is not built: phases started without the reconcile step";
    if (!context.notes.includes(note)) context.notes.push(note);
    return;
  }
  const run = await context.runner.run(
    "reconcile",
    { migration, "on-drift": "fail", ...checkpointStoreInput(context) },
    { label: migration },
  );
  requireSuccess(run, "reconcile");
  const outcome = run.outputs.outcome ?? "?";
  context.progress.step(
    `reconcile: ${outcome === "in-sync" ? "status matches AWS" : outcome}, ${parseWeights(run.outputs["observed-weights"])} (${seconds(run.elapsedMs)})`,
  );
}

function requireSuccess(run: StepRun, what: string): void {
  if (run.exitCode !== 0) throw new DemoStepError(`${what} failed: ${failureMessage(run)}`);
}

/** deploy: the new Lambda package behind the alias. */
export async function deployNewSide(
  context: DemoContext,
  migration: string,
  phase: string,
): Promise<StepRun> {
  const { progress, runner, recorder } = context;
  const run = await runner.run(
    "deploy",
    { migration, side: "new", "zip-file": context.workspace.artifact, "update-timeout": "60s" },
    { label: migration },
  );
  await recordOutcome(run, "deploy", () =>
    recorder.record({
      migration,
      event: "deployed",
      phase,
      outcome: run.exitCode === 0 ? "success" : "failure",
      stepOutputs: run.outputs,
    }),
  );
  progress.ok(
    `deploy: ${run.outputs.target ?? "new side"} ${run.outputs["previous-version"] || "?"} → ${run.outputs.version || "?"} (${seconds(run.elapsedMs)})`,
  );
  return run;
}

/** Planned length of an Artillery scenario in the workspace, from its phases. */
async function plannedSeconds(context: DemoContext, scenario: string): Promise<number> {
  const text = await readFile(join(context.workspace.repo, scenario), "utf8");
  let total = 0;
  for (const match of text.matchAll(/^\s*(?:-\s*)?duration:\s*(\d+)/gm)) total += Number(match[1]);
  return Math.max(1, total);
}

/** load-test: one scenario of the phase against the staging endpoint; the verdict comes from the report. */
export async function loadTest(
  context: DemoContext,
  migration: string,
  phase: string,
  scenario: string,
  target: string,
): Promise<{ run: StepRun; verdict: string; line: string }> {
  const { progress, runner, recorder } = context;
  const planned = await plannedSeconds(context, scenario);
  const label = scenario.replace(/^load-tests\//, "").replace(/\.ya?ml$/, "");
  // Artillery takes a few seconds to start; the bar shows the planned run plus that.
  const expectedMs = (planned + 4) * 1000;
  const run = await runner.run(
    "load-test",
    {
      migration,
      phase,
      step: scenario,
      target,
      "report-path": join(context.workspace.evidence, `artillery-${migration}-${label}.json`),
      timeout: `${planned + 90}s`,
    },
    {
      label: `${migration}-${label}`,
      timeoutMs: (planned + 120) * 1000,
      onTick: (elapsed) =>
        progress.bar(`load test ${label}`, elapsed / expectedMs, `${seconds(elapsed)} of ~${planned + 4} s`),
    },
  );
  progress.bar(`load test ${label}`, 1, "done");
  progress.endBar();
  await recorder.record({
    migration,
    event: "load-tested",
    phase,
    step: scenario,
    outcome: run.exitCode === 0 ? "success" : "failure",
    stepOutputs: run.outputs,
  });
  const o = run.outputs;
  const line =
    `${label}: ${o.verdict ?? "no verdict"} — ${o.requests ?? "?"} requests, errors ${percent(o["error-rate"])}, ` +
    `p95 ${o.p95 || "?"} ms, p99 ${o.p99 || "?"} ms, rate ${Number(o["achieved-rate"] ?? Number.NaN).toFixed(0)}/${Number(o["requested-rate"] ?? Number.NaN).toFixed(0)} per s`;
  if (run.exitCode !== 0 || o.verdict !== "pass") {
    progress.fail(line);
    throw new DemoStepError(`load test ${scenario} did not pass: ${o.reason ?? failureMessage(run)}`);
  }
  progress.ok(line);
  return { run, verdict: o.verdict, line };
}

function percent(value: string | undefined, digits = 2): string {
  const number = Number(value);
  return value === undefined || value === "" || Number.isNaN(number)
    ? "?"
    : `${(number * 100).toFixed(digits)} %`;
}

/** What a shift did. */
export interface ShiftOutcome {
  run: StepRun;
  gateWindowStart: Date;
}

/** shift-traffic to the phase's weight, then the status commit with its checkpoint. */
export async function shift(
  context: DemoContext,
  migration: string,
  phase: string,
  weight: number,
): Promise<ShiftOutcome> {
  const { progress, runner, recorder } = context;
  const run = await runner.run(
    "shift-traffic",
    { migration, phase, "insync-timeout": "60s", ...checkpointStoreInput(context) },
    { label: `${migration}-${phase}` },
  );
  await recordOutcome(run, `shift to ${weight} %`, () =>
    recorder.record({
      migration,
      event: "shifted",
      phase,
      outcome: run.exitCode === 0 ? "success" : "failure",
      stepOutputs: run.outputs,
      ...(run.exitCode === 0 ? {} : { reason: failureMessage(run) }),
    }),
  );
  const previous = parseWeights(run.outputs["previous-weights"]);
  const next = parseWeights(run.outputs.weights);
  const insync = run.outputs["insync-at"] ? new Date(run.outputs["insync-at"]) : undefined;
  progress.ok(
    `shift-traffic: ${previous} → ${next} in one change batch, INSYNC ${insync ? `after ${seconds(insync.getTime() - run.startedAt)}` : "(no change)"}; gate window from ${shortTime(run.outputs["gate-window-start"])}`,
  );
  return { run, gateWindowStart: new Date(run.outputs["gate-window-start"] ?? Date.now()) };
}

function parseWeights(text: string | undefined): string {
  try {
    const weights = JSON.parse(text ?? "") as { old: number; new: number };
    return `old ${weights.old} / new ${weights.new}`;
  } catch {
    return text ?? "?";
  }
}

function shortTime(iso: string | undefined): string {
  return iso ? iso.slice(11, 23) : "?";
}

/** One gate evaluation as the demo shows it. */
export interface GateLook {
  run: StepRun;
  verdict: Verdict | "error";
  bakeComplete: boolean;
  samples: number;
  figures: string;
  evidence?: Record<string, unknown>;
  at: number;
}

interface EvidenceMetric {
  name: string;
  value?: number;
  unit: string;
  verdict: Verdict;
}

function formatMetric(metric: EvidenceMetric): string {
  if (metric.value === undefined) return `${metric.name} no data`;
  const value = metric.unit.startsWith("fraction")
    ? `${(metric.value * 100).toFixed(2)} %`
    : metric.unit === "ms"
      ? `${metric.value.toFixed(0)} ms`
      : `${metric.value}`;
  return `${metric.name} ${value}`;
}

/** metric-gate in bake mode, once. */
export async function lookAtGate(context: DemoContext, migration: string): Promise<GateLook> {
  const run = await context.runner.run("metric-gate", { migration, mode: "bake" }, { label: migration });
  const at = Date.now();
  if (run.exitCode !== 0) {
    return { run, verdict: "error", bakeComplete: false, samples: 0, figures: failureMessage(run), at };
  }
  let evidence: Record<string, unknown> | undefined;
  try {
    evidence = JSON.parse(run.outputs.evidence ?? "") as Record<string, unknown>;
  } catch {
    evidence = undefined;
  }
  const metrics = (evidence?.metrics as EvidenceMetric[] | undefined) ?? [];
  const samples = Number(run.outputs.samples ?? 0);
  const figures = [
    `${samples} requests on the new side`,
    ...metrics.filter((metric) => metric.name !== "cost").map(formatMetric),
  ].join(", ");
  return {
    run,
    verdict: (run.outputs.verdict as Verdict | undefined) ?? "error",
    bakeComplete: run.outputs["bake-complete"] === "true",
    samples,
    figures,
    ...(evidence ? { evidence } : {}),
    at,
  };
}

/** How a bake ended. */
export interface BakeOutcome {
  verdict: Verdict | "error";
  /** The look that decided (the last one). */
  last: GateLook;
  looks: number;
  /** True when a gate verdict asked for a rollback. */
  breach: boolean;
}

/**
 * Bakes the phase: judges the gate every few seconds, as the monitor
 * workflow does on its schedule, showing each verdict's figures and the
 * observed split, until the bake is complete (recorded as passed) or a
 * verdict asks for a rollback (left to the caller). `onLook` runs after each
 * look (the second act uses it to break the new side).
 */
export async function bake(
  context: DemoContext,
  options: {
    migration: string;
    phase: string;
    weight: number;
    bakeSeconds: number;
    gateWindowStart: Date;
    traffic: BackgroundTraffic;
    onLook?: (look: GateLook, index: number) => Promise<void>;
  },
): Promise<BakeOutcome> {
  const { progress, profile, recorder } = context;
  const bakeEnds = options.gateWindowStart.getTime() + options.bakeSeconds * 1000;
  const deadline = bakeEnds + 30_000 + options.bakeSeconds * 1000;
  const label = `bake ${options.phase}`;
  const barStatus = (extra: string) => {
    const remaining = Math.max(0, bakeEnds - Date.now());
    const split = options.traffic.recentSplit(3);
    return `${remaining > 0 ? `${seconds(remaining)} left` : "window closed"} | split ${describeSplit(split, options.weight)}${extra ? ` | ${extra}` : ""}`;
  };
  const fraction = () => 1 - Math.max(0, bakeEnds - Date.now()) / (options.bakeSeconds * 1000);
  let looks = 0;
  let lastLine = "";
  for (;;) {
    // Wait for the next look, redrawing the bar; the first look comes once a period of data exists.
    const nextLookAt = Date.now() + profile.gatePollSeconds * 1000;
    while (Date.now() < nextLookAt) {
      progress.bar(label, fraction(), barStatus(lastLine));
      await sleep(250);
    }
    const look = await lookAtGate(context, options.migration);
    looks++;
    lastLine = `gate ${look.verdict}: ${look.figures}`;
    progress.bar(label, fraction(), barStatus(lastLine));
    if (options.onLook) await options.onLook(look, looks);
    if (look.verdict === "error") {
      progress.endBar();
      throw new DemoStepError(`metric-gate failed: ${look.figures}`);
    }
    if (look.verdict === "rollback") {
      progress.endBar();
      progress.fail(`gate rollback: ${look.figures}`);
      for (const reason of (look.evidence?.reasons as string[] | undefined) ?? [])
        progress.line(`      ${reason}`);
      return { verdict: "rollback", last: look, looks, breach: true };
    }
    if (look.verdict === "fail") {
      // Outside a pass threshold but inside the rollback one: recorded, and the bake cannot complete on it.
      await recorder.record({
        migration: options.migration,
        event: "gate-checked",
        phase: options.phase,
        stepOutputs: look.run.outputs,
      });
    }
    if (look.bakeComplete) {
      progress.bar(label, 1, barStatus(lastLine));
      progress.endBar();
      await recorder.record({
        migration: options.migration,
        event: "passed",
        phase: options.phase,
        stepOutputs: look.run.outputs,
      });
      progress.ok(`gate pass, bake complete: ${look.figures}`);
      return { verdict: "pass", last: look, looks, breach: false };
    }
    if (Date.now() > deadline) {
      progress.endBar();
      progress.fail(`the bake did not complete: last verdict ${look.verdict} (${look.figures})`);
      return { verdict: look.verdict, last: look, looks, breach: false };
    }
  }
}

/** Records a step's outcome; when the step itself failed, its own message is what the demo reports. */
async function recordOutcome(run: StepRun, what: string, record: () => Promise<unknown>): Promise<void> {
  try {
    await record();
  } catch (error) {
    if (run.exitCode === 0) throw error;
    throw new DemoStepError(
      `${what} failed: ${failureMessage(run)} (and recording it failed: ${(error as Error).message})`,
    );
  }
  requireSuccess(run, what);
}

/** decommission, one stage. */
export async function decommissionStage(
  context: DemoContext,
  migration: string,
  stage: "scale-down" | "delete",
): Promise<StepRun> {
  const { progress, runner, recorder } = context;
  const inputs: Record<string, string> = { migration, stage, "stable-timeout": "60s" };
  const run = await runner.run("decommission", inputs, { label: `${migration}-${stage}` });
  await recordOutcome(run, `decommission ${stage}`, () =>
    recorder.record({
      migration,
      event: stage === "scale-down" ? "decommission-started" : "decommissioned",
      phase: "decommission",
      outcome: run.exitCode === 0 ? "success" : "failure",
      stepOutputs: run.outputs,
      ...(run.exitCode === 0 ? {} : { reason: failureMessage(run) }),
    }),
  );
  if (stage === "scale-down") {
    progress.ok(
      `decommission scale-down: desiredCount ${run.outputs["desired-count-before"]} → 0, hold until ${shortTime(run.outputs["hold-ends-at"])} (${seconds(run.elapsedMs)})`,
    );
  } else {
    const deregistered = safeList(run.outputs["deregistered-task-definitions"]);
    progress.ok(
      `decommission delete: service deleted, ${deregistered.length} task definition(s) deregistered (${seconds(run.elapsedMs)})`,
    );
  }
  return run;
}

function safeList(text: string | undefined): string[] {
  try {
    const value = JSON.parse(text ?? "[]");
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
}

/** The checkpoint-store input, when the guardian is installed. */
function checkpointStoreInput(context: DemoContext): Record<string, string> {
  return context.guardian ? { "checkpoint-store": context.guardian.install.store } : {};
}
