// The bundled actions as another repository uses them (`uses: <owner>/cutover/actions/<name>@<ref>`): the runner
// downloads the action into a directory of its own, far from the caller's checkout, and starts its dist/index.js
// with the workspace as the working directory. The caller's repository has its spec where it likes (here
// platform/migrations.json), no node_modules and nothing of this repository's layout. Each bundle also has to start
// on the Node 20 a self-hosted runner may still have, as well as on GitHub's node24.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MigrationsFile } from "../../src/model/spec.js";
import { stagingPassed } from "../gitops/statuses.js";
import { createLocalRemote } from "../support/git-remote.js";
import { systemNode } from "../support/node-runtimes.js";
import { parseOutputFile, repoRoot } from "../support/run-action.js";

const example = JSON.parse(readFileSync(join(repoRoot, "migrations.json"), "utf8")) as MigrationsFile;

function specAt(phase: string): string {
  const spec = structuredClone(example);
  spec.migrations[0]!.phase = phase;
  return `${JSON.stringify(spec, null, 2)}\n`;
}

/** The caller's repository: its spec and scenarios under platform/, nothing else of cutover's. */
function callerRepository() {
  const files: Record<string, string> = {
    "platform/migrations.json": specAt("staging"),
    "README.md": "# payments\n",
  };
  for (const scenario of ["smoke.yml", "sustained-100rps.yml", "spike-500rps.yml"]) {
    files[`platform/load-tests/${scenario}`] = readFileSync(join(repoRoot, "load-tests", scenario), "utf8");
  }
  return createLocalRemote(files);
}

/** Copies action.yml and dist/ of an action where the runner keeps downloaded actions; returns its entry. */
function downloadedAction(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), "cutover-actions-")), "_actions", "example", "cutover", "v1");
  const target = join(dir, "actions", name);
  mkdirSync(target, { recursive: true });
  cpSync(join(repoRoot, "actions", name, "action.yml"), join(target, "action.yml"));
  cpSync(join(repoRoot, "actions", name, "dist"), join(target, "dist"), { recursive: true });
  return join(target, "dist", "index.js");
}

interface Run {
  exitCode: number;
  outputs: Record<string, string>;
  stdout: string;
  stderr: string;
}

/** Starts an action's entry on `node` as the runner does, in `workspace`. */
function runEntry(
  node: string,
  entry: string,
  workspace: string,
  inputs: Record<string, string>,
): Promise<Run> {
  const scratch = mkdtempSync(join(tmpdir(), "cutover-runner-"));
  const outputFile = join(scratch, "output");
  const eventFile = join(scratch, "event.json");
  writeFileSync(outputFile, "");
  writeFileSync(join(scratch, "summary.md"), "");
  writeFileSync(eventFile, JSON.stringify({ repository: { default_branch: "main" } }));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: scratch,
    GITHUB_ACTIONS: "true",
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: join(scratch, "summary.md"),
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_EVENT_NAME: "push",
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: "payments/platform",
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "7",
    GITHUB_RUN_ATTEMPT: "1",
    RUNNER_TEMP: scratch,
  };
  for (const [input, value] of Object.entries(inputs)) env[`INPUT_${input.toUpperCase()}`] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(node, [entry], { cwd: workspace, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        exitCode: code ?? -1,
        outputs: parseOutputFile(readFileSync(outputFile, "utf8")),
        stdout,
        stderr,
      });
    });
  });
}

const node20 = systemNode(20);
const runtimes = [
  { label: `Node ${process.versions.node} (node24)`, path: process.execPath },
  ...(node20 ? [{ label: `the machine's Node ${node20.version}`, path: node20.path }] : []),
];

describe.each(runtimes)("a bundled action used from another repository, on $label", ({ path: node }) => {
  it("select-migrations reads the spec it is given and lists the changed migration with its scenarios", async () => {
    const remote = callerRepository();
    const before = remote.tip();
    remote.push({ "platform/migrations.json": specAt("canary-10") }, "orders-api: canary-10");
    const run = await runEntry(node, downloadedAction("select-migrations"), remote.clone(), {
      select: "changed",
      spec: "platform/migrations.json",
      base: before,
    });
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(JSON.parse(run.outputs.matrix!)).toEqual([
      expect.objectContaining({ migration: "orders-api", phase: "canary-10", environment: "production" }),
    ]);
  });

  it("plan grades a promotion on the status beside the caller's spec", async () => {
    const remote = callerRepository();
    const base = remote.tip();
    remote.push({ "platform/migrations.json": specAt("canary-10") }, "orders-api: canary-10");
    const refused = await runEntry(node, downloadedAction("plan"), remote.clone(), {
      spec: "platform/migrations.json",
      base,
    });
    expect(refused.exitCode, `${refused.stdout}\n${refused.stderr}`).toBe(1);
    expect(refused.outputs.ok).toBe("false");
    expect(refused.stdout).toContain(`"canary-10" needs "staging" to have passed first`);

    remote.push(
      { "platform/status/orders-api.json": `${JSON.stringify(stagingPassed(), null, 2)}\n` },
      "status: orders-api staging passed",
    );
    const run = await runEntry(node, downloadedAction("plan"), remote.clone(), {
      spec: "platform/migrations.json",
      base,
    });
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.outputs.ok).toBe("true");
    expect(JSON.parse(run.outputs.plan!).migrations[0]).toMatchObject({ migration: "orders-api" });
  });

  it("names the spec path it was given when the caller's spec is not there", async () => {
    const remote = callerRepository();
    const run = await runEntry(node, downloadedAction("select-migrations"), remote.clone(), {
      select: "named",
      migration: "orders-api",
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain("migrations.json");
    expect(run.stdout).not.toMatch(/SyntaxError|ERR_REQUIRE|Cannot find (module|package)/);
  });
});
