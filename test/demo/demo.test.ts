/**
 * Acceptance of `npm run demo`: runs it in its fast mode as a process with
 * CI=true, then checks the outcomes from the result file it writes and from
 * the status files committed to its git remote.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DemoResult } from "../../src/demo/report.js";
import type { HistoryEntry, MigrationStatus } from "../../src/model/status.js";

const repoRoot = resolve(import.meta.dirname, "..", "..");
const git = promisify(execFile);

interface DemoRun {
  exitCode: number | null;
  output: string;
  result: DemoResult;
}

const workDir = mkdtempSync(join(tmpdir(), "cutover-demo-test-"));

function runDemo(): Promise<DemoRun> {
  const resultPath = join(workDir, "result.json");
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"),
        "src/demo/main.ts",
        "--fast",
        "--dir",
        join(workDir, "demo"),
        "--result",
        resultPath,
      ],
      { cwd: repoRoot, env: { ...process.env, CI: "true" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 280_000);
    child.on("error", reject);
    child.on("close", (exitCode) => {
      clearTimeout(killer);
      try {
        const result = JSON.parse(readFileSync(resultPath, "utf8")) as DemoResult;
        resolvePromise({ exitCode, output, result });
      } catch (error) {
        reject(
          new Error(
            `the demo wrote no readable result (${(error as Error).message}); its output:\n${output}`,
          ),
        );
      }
    });
  });
}

async function committedStatus(run: DemoRun, migration: string): Promise<MigrationStatus> {
  const { stdout } = await git("git", [
    "--git-dir",
    run.result.paths.remote,
    "show",
    `main:status/${migration}.json`,
  ]);
  return JSON.parse(stdout) as MigrationStatus;
}

describe("npm run demo --fast", () => {
  let run: DemoRun;

  beforeAll(async () => {
    run = await runDemo();
  }, 300_000);

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it("exits 0 and says the whole demo went as it should", () => {
    expect(run.result.error, run.output).toBeUndefined();
    expect(run.exitCode, run.output).toBe(0);
    expect(run.result.ok).toBe(true);
  });

  it("passes every phase of act one, staging to decommission", () => {
    const phases = run.result.actOne?.phases ?? [];
    expect(phases.map((phase) => [phase.phase, phase.verdict])).toEqual([
      ["staging", "pass"],
      ["canary-10", "pass"],
      ["canary-50", "pass"],
      ["full", "pass"],
      ["decommission", "pass"],
    ]);
    expect(phases.slice(0, 4).every((phase) => phase.state === "passed")).toBe(true);
    expect(phases[4]?.state).toBe("done");
  });

  it("deletes the old side at the end of act one (the sandbox's ECS reports the service INACTIVE)", async () => {
    expect(run.result.actOne?.oldServiceStatus).toMatch(/^INACTIVE\b/);
    const status = await committedStatus(run, "orders-api");
    expect(status.state).toBe("done");
    expect(status.weights).toEqual({ old: 0, new: 100 });
    expect(status.decommission?.stage).toBe("deleted");
    const events = status.history.map((entry) => entry.event);
    for (const event of [
      "shift-applied",
      "gate-evaluated",
      "decommission-scaled-down",
      "decommission-deleted",
    ]) {
      expect(events).toContain(event);
    }
    const passes = status.history.filter(
      (entry) => entry.event === "gate-evaluated" && entry.to === "passed",
    );
    expect(passes.map((entry) => entry.phase)).toEqual(["canary-10", "canary-50", "full"]);
  });

  it("rolls act two back inside AWS: the rollback alarm trips, the guardian restores the old side, reconcile records why", async () => {
    const two = run.result.actTwo;
    expect(two?.rolledBack).toBe(true);
    const status = await committedStatus(run, "payments-api");
    expect(status.phase).toBe("canary-50");
    expect(status.state).toBe("rolled-back");
    expect(status.weights).toEqual({ old: 100, new: 0 });
    const breach = status.history.find(
      (entry: HistoryEntry) => entry.event === "rollback-started" && entry.evidence?.by === "guardian",
    );
    expect(breach?.from).toBe("baking");
    expect(breach?.to).toBe("rolling-back");
    const trigger = breach?.evidence?.trigger as { alarm?: { name: string; reason: string } } | undefined;
    expect(trigger?.alarm?.name).toMatch(/^cutover-demo-payments-api-.*-error-rate-rollback-max$/);
    expect(trigger?.alarm?.reason).toMatch(/Threshold Crossed: 3 out of the last 3 datapoints/);
    expect(breach?.evidence).toMatchObject({ before: { old: 50, new: 50 }, after: { old: 100, new: 0 } });
    const completed = status.history.findLast((entry) => entry.event === "rollback-completed");
    expect(completed?.to).toBe("rolled-back");
    expect(status.history.indexOf(completed!)).toBeGreaterThan(status.history.indexOf(breach!));
    const timeline = two?.rollback?.timeline;
    expect(Date.parse(timeline!.alarmAt!)).toBeGreaterThanOrEqual(
      Date.parse(timeline!.firstFailingRequestAt!),
    );
    expect(Date.parse(timeline!.changeSubmittedAt!)).toBeGreaterThanOrEqual(Date.parse(timeline!.alarmAt!));
    expect(Date.parse(timeline!.insyncAt!)).toBeGreaterThanOrEqual(Date.parse(timeline!.changeSubmittedAt!));
  });

  it("shows the old side serving all the traffic after the rollback", () => {
    const after = run.result.actTwo?.afterRollback;
    expect(after?.new).toBe(0);
    expect(after?.old).toBeGreaterThan(0);
    expect(run.result.actTwo?.rollback?.detectToInsyncMs).toBeGreaterThan(0);
  });

  it("fails no background request because of a shift or a rollback; only the injected errors fail", () => {
    const one = run.result.actOne?.failures;
    const two = run.result.actTwo?.failures;
    expect(one?.requests).toBeGreaterThan(1000);
    expect(one?.transportFailures).toBe(0);
    expect(one?.unexpectedByStatus).toEqual({});
    expect(one?.injected).toBe(0);
    expect(two?.transportFailures).toBe(0);
    expect(two?.unexpectedByStatus).toEqual({});
    expect(two?.injected).toBeGreaterThan(0);
    expect(run.result.unexplainedFailures).toBe(0);
  });
});
