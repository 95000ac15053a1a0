/**
 * Runs a bundled action (`actions/<name>/dist/index.js`) as a process, the way
 * the runner does: inputs as INPUT_* variables, GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, GITHUB_EVENT_PATH with a webhook payload.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "..", "..");

export interface BundledActionRun {
  exitCode: number;
  outputs: Record<string, string>;
  summary: string;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

export interface RunBundledActionOptions {
  inputs: Record<string, string>;
  /** Extra environment (AWS endpoint, region, credentials). */
  env?: Record<string, string>;
  /** Working directory and GITHUB_WORKSPACE; the repository root by default. */
  workspace?: string;
  eventName?: string;
  eventPayload?: unknown;
  /** Kill the process after this long (ms). */
  timeoutMs?: number;
}

/** Parses the runner's GITHUB_OUTPUT file (`name=value` and `name<<DELIM` heredoc forms). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? "");
      outputs[name!] = value.join("\n");
    } else if (line.includes("=")) {
      const at = line.indexOf("=");
      outputs[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return outputs;
}

export async function runBundledAction(
  name: string,
  options: RunBundledActionOptions,
): Promise<BundledActionRun> {
  const scratch = mkdtempSync(join(tmpdir(), `cutover-${name}-`));
  const outputFile = join(scratch, "output");
  const summaryFile = join(scratch, "summary.md");
  const eventFile = join(scratch, "event.json");
  writeFileSync(outputFile, "");
  writeFileSync(summaryFile, "");
  writeFileSync(eventFile, JSON.stringify(options.eventPayload ?? {}));
  const workspace = options.workspace ?? repoRoot;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? scratch,
    GITHUB_ACTIONS: "true",
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_EVENT_NAME: options.eventName ?? "workflow_dispatch",
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: "example/platform",
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "4242",
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_ACTOR: "octocat",
    RUNNER_TEMP: scratch,
    ...options.env,
  };
  for (const [input, value] of Object.entries(options.inputs)) {
    env[`INPUT_${input.replace(/ /g, "_").toUpperCase()}`] = value;
  }
  const started = Date.now();
  const script = join(repoRoot, "actions", name, "dist", "index.js");
  return await new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: workspace,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({
        exitCode: code ?? -1,
        outputs: parseOutputFile(readFileSync(outputFile, "utf8")),
        summary: readFileSync(summaryFile, "utf8"),
        stdout,
        stderr,
        elapsedMs: Date.now() - started,
      });
    });
  });
}
