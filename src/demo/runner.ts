/**
 * Runs the bundled actions (`actions/<name>/dist/index.js`) the way the
 * GitHub runner does: one process per step, inputs as INPUT_* variables,
 * outputs through GITHUB_OUTPUT, the job summary through
 * GITHUB_STEP_SUMMARY, the event through GITHUB_EVENT_PATH. Every run's
 * summary and outputs are kept in the evidence directory.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** What one action step left behind. */
export interface StepRun {
  action: string;
  exitCode: number;
  outputs: Record<string, string>;
  summary: string;
  stdout: string;
  stderr: string;
  startedAt: number;
  elapsedMs: number;
  /** Where its job summary was saved. */
  summaryPath: string;
}

export interface ActionRunnerOptions {
  projectRoot: string;
  /** The checkout the step runs in (GITHUB_WORKSPACE). */
  workspace: string;
  evidenceDir: string;
  /** AWS endpoint, region and credentials of the sandbox. */
  awsEnv: Record<string, string>;
}

/** Parses the runner's GITHUB_OUTPUT file (`name=value` and `name<<DELIMITER` blocks). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? "";
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    if (block) {
      const [, name, delimiterLine] = block;
      const value: string[] = [];
      for (index++; index < lines.length && lines[index] !== delimiterLine; index++)
        value.push(lines[index] ?? "");
      outputs[name!] = value.join("\n");
    } else if (line.includes("=")) {
      const at = line.indexOf("=");
      outputs[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return outputs;
}

/** The last `::error::` line (core.setFailed's message) of a failed step, or its last stderr line. */
export function failureMessage(run: Pick<StepRun, "stdout" | "stderr">): string {
  const errors = run.stdout
    .split("\n")
    .filter((line) => line.startsWith("::error"))
    .map((line) =>
      line
        .replace(/^::error[^:]*::/, "")
        .replace(/%0A/g, "\n")
        .replace(/%25/g, "%"),
    );
  const last = errors.at(-1) ?? run.stderr.trim().split("\n").at(-1) ?? "";
  return last.trim() || "the step failed without a message";
}

/** Runs action steps as processes; bounded in time, one at a time per call. */
export class ActionRunner {
  private sequence = 0;
  private runNumber = 100;

  constructor(private readonly options: ActionRunnerOptions) {}

  /** True when the action's bundle exists. */
  has(action: string): boolean {
    return existsSync(this.script(action));
  }

  private script(action: string): string {
    return join(this.options.projectRoot, "actions", action, "dist", "index.js");
  }

  /** Each apply, monitor or rollback run gets its own run id, as on GitHub. */
  nextRun(): void {
    this.runNumber++;
  }

  /**
   * Runs one step. `onTick` is called every `tickMs` while it runs (progress
   * bars); the step is killed after `timeoutMs`.
   */
  async run(
    action: string,
    inputs: Record<string, string | undefined>,
    options: {
      label?: string;
      timeoutMs?: number;
      onTick?: (elapsedMs: number) => void;
      tickMs?: number;
    } = {},
  ): Promise<StepRun> {
    const script = this.script(action);
    if (!existsSync(script)) {
      throw new Error(`${script} does not exist; build the actions first with npm run build`);
    }
    const index = ++this.sequence;
    const name = `${String(index).padStart(3, "0")}-${action}${options.label ? `-${options.label}` : ""}`;
    // RUNNER_TEMP of the step: beside the evidence, so only what the step reports is kept as evidence.
    const tempRoot = join(this.options.evidenceDir, "..", "runner-temp");
    await mkdir(tempRoot, { recursive: true });
    const scratch = await mkdtemp(join(tempRoot, `${action}-`));
    const outputFile = join(scratch, "output");
    const summaryFile = join(scratch, "summary.md");
    const eventFile = join(scratch, "event.json");
    await writeFile(outputFile, "");
    await writeFile(summaryFile, "");
    await writeFile(
      eventFile,
      JSON.stringify({ repository: { full_name: "example/platform", default_branch: "main" } }),
    );
    const env: Record<string, string> = {
      PATH: [join(this.options.projectRoot, "node_modules", ".bin"), process.env.PATH ?? ""].join(delimiter),
      HOME: process.env.HOME ?? scratch,
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_EVENT_PATH: eventFile,
      GITHUB_EVENT_NAME: "workflow_dispatch",
      GITHUB_WORKSPACE: this.options.workspace,
      GITHUB_REPOSITORY: "example/platform",
      GITHUB_SERVER_URL: "https://github.com",
      GITHUB_RUN_ID: String(this.runNumber),
      GITHUB_RUN_ATTEMPT: "1",
      GITHUB_ACTOR: "cutover-demo",
      GITHUB_REF: "refs/heads/main",
      RUNNER_TEMP: scratch,
      ...this.options.awsEnv,
    };
    for (const [input, value] of Object.entries(inputs)) {
      if (value !== undefined) env[`INPUT_${input.replace(/ /g, "_").toUpperCase()}`] = value;
    }
    const startedAt = Date.now();
    const { exitCode, stdout, stderr } = await new Promise<{
      exitCode: number;
      stdout: string;
      stderr: string;
    }>((resolvePromise, reject) => {
      const child = spawn(process.execPath, [script], {
        cwd: this.options.workspace,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk) => {
        out += chunk;
      });
      child.stderr.on("data", (chunk) => {
        err += chunk;
      });
      const killer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
      const ticker = options.onTick
        ? setInterval(() => options.onTick?.(Date.now() - startedAt), options.tickMs ?? 250)
        : undefined;
      child.on("error", (error) => {
        clearTimeout(killer);
        if (ticker) clearInterval(ticker);
        reject(error);
      });
      child.on("close", (code, signal) => {
        clearTimeout(killer);
        if (ticker) clearInterval(ticker);
        resolvePromise({ exitCode: code ?? (signal ? 128 : -1), stdout: out, stderr: err });
      });
    });
    const elapsedMs = Date.now() - startedAt;
    const outputs = parseOutputFile(await readFile(outputFile, "utf8"));
    const summary = await readFile(summaryFile, "utf8");
    const summaryPath = join(this.options.evidenceDir, `${name}.md`);
    await mkdir(this.options.evidenceDir, { recursive: true });
    await writeFile(summaryPath, summary || `(no job summary)\n`);
    await writeFile(
      join(this.options.evidenceDir, `${name}.json`),
      `${JSON.stringify({ action, inputs, exitCode, elapsedMs, outputs }, null, 2)}\n`,
    );
    await writeFile(
      join(this.options.evidenceDir, `${name}.log`),
      stdout + (stderr ? `\n--- stderr ---\n${stderr}` : ""),
    );
    return { action, exitCode, outputs, summary, stdout, stderr, startedAt, elapsedMs, summaryPath };
  }
}
