/**
 * The demo's workspace: a local bare repository standing for the GitHub
 * remote, a clone of it where the actions run (as a runner's checkout), and
 * a directory for the evidence each step leaves (job summaries, outputs,
 * Artillery reports, gate evidence).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import type { MigrationsFile } from "../model/spec.js";
import type { DemoProfile } from "./options.js";
import { lambdaPackage } from "./zip.js";

const run = promisify(execFile);

/** Marks a directory as the demo's own, so a rerun may delete it and nothing else. */
const MARKER = ".cutover-demo";

/** Paths of the demo's workspace. */
export interface DemoWorkspace {
  root: string;
  /** Bare repository: the "GitHub" remote. */
  remote: string;
  /** The checkout the actions run in; the spec is `migrations.json` at its root. */
  repo: string;
  specPath: string;
  evidence: string;
  /** Path of the Lambda package each deploy uploads, relative to the checkout. */
  artifact: string;
}

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: "cutover-bot",
  GIT_AUTHOR_EMAIL: "cutover-bot@users.noreply.example.com",
  GIT_COMMITTER_NAME: "cutover-bot",
  GIT_COMMITTER_EMAIL: "cutover-bot@users.noreply.example.com",
};

/** Runs git with a fixed identity and no user configuration; throws with git's own message. */
export async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(
      "git",
      ["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", ...args],
      {
        cwd,
        env: { ...process.env, ...GIT_IDENTITY, GIT_TERMINAL_PROMPT: "0" },
        timeout: 30_000,
      },
    );
    return stdout.trim();
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new Error(`git ${args.join(" ")} (in ${cwd}) failed: ${detail}`);
  }
}

/** Commits everything changed under `paths` and pushes; returns the new commit, or undefined when nothing changed. */
export async function commitAndPush(
  repo: string,
  paths: string[],
  message: string,
): Promise<string | undefined> {
  await git(repo, ["add", "--", ...paths]);
  const staged = await git(repo, ["diff", "--cached", "--name-only"]);
  if (staged === "") return undefined;
  await git(repo, ["commit", "--quiet", "-m", message]);
  await git(repo, ["push", "--quiet", "origin", "HEAD:main"]);
  return git(repo, ["rev-parse", "--short", "HEAD"]);
}

async function clearWorkDir(root: string): Promise<void> {
  if (!existsSync(root)) return;
  const entries = await readdir(root);
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new Error(
      `${root} exists and is not a demo workspace (no ${MARKER} marker inside); give another --dir or remove it yourself`,
    );
  }
  await rm(root, { recursive: true, force: true });
}

/** Short copies of the load-test scenarios: same files, same flows, phases of seconds. */
async function writeScenarios(sourceDir: string, targetDir: string, profile: DemoProfile): Promise<void> {
  await mkdir(targetDir, { recursive: true });
  const { sustained, spike } = profile;
  const shortPhases: Record<string, unknown[] | undefined> = {
    "smoke.yml": undefined,
    "sustained-100rps.yml": [
      { name: "ramp", duration: sustained.rampSeconds, arrivalRate: 10, rampTo: sustained.rps },
      { name: "sustained", duration: sustained.seconds, arrivalRate: sustained.rps },
    ],
    "spike-500rps.yml": [
      { name: "baseline", duration: spike.edgeSeconds, arrivalRate: spike.baseRps },
      { name: "spike up", duration: spike.rampSeconds, arrivalRate: spike.baseRps, rampTo: spike.peakRps },
      { name: "spike", duration: spike.peakSeconds, arrivalRate: spike.peakRps },
      { name: "recover", duration: spike.edgeSeconds, arrivalRate: spike.baseRps },
    ],
  };
  for (const [file, phases] of Object.entries(shortPhases)) {
    const source = join(sourceDir, file);
    if (!phases) {
      await copyFile(source, join(targetDir, file));
      continue;
    }
    const scenario = parseYaml(await readFile(source, "utf8")) as { config: { phases: unknown } };
    scenario.config.phases = phases;
    const header = `# Demo copy of load-tests/${file}: the same flows, phases shortened to seconds (${profile.name} profile).\n`;
    await writeFile(join(targetDir, file), header + toYaml(scenario));
  }
}

/**
 * Creates the workspace from scratch: the bare remote, its clone holding the
 * demo spec, the schemas, the short scenarios and the Lambda package, all
 * committed and pushed as the repository's first commit.
 */
export async function createWorkspace(
  root: string,
  projectRoot: string,
  spec: MigrationsFile,
  profile: DemoProfile,
): Promise<DemoWorkspace> {
  await clearWorkDir(root);
  await mkdir(root, { recursive: true });
  await writeFile(
    join(root, MARKER),
    "The cutover demo's workspace; `npm run demo` deletes and recreates it.\n",
  );
  const workspace: DemoWorkspace = {
    root,
    remote: join(root, "remote.git"),
    repo: join(root, "repo"),
    specPath: join(root, "repo", "migrations.json"),
    evidence: join(root, "evidence"),
    artifact: "build/lambda.zip",
  };
  await mkdir(workspace.evidence, { recursive: true });
  await git(root, ["init", "--quiet", "--bare", "--initial-branch=main", workspace.remote]);
  await git(root, ["clone", "--quiet", workspace.remote, workspace.repo]);
  await git(workspace.repo, ["checkout", "--quiet", "-B", "main"]);
  await writeFile(workspace.specPath, `${JSON.stringify(spec, null, 2)}\n`);
  for (const schema of ["migrations.schema.json", "status.schema.json"]) {
    await copyFile(join(projectRoot, schema), join(workspace.repo, schema));
  }
  await writeScenarios(join(projectRoot, "load-tests"), join(workspace.repo, "load-tests"), profile);
  await mkdir(join(workspace.repo, "build"), { recursive: true });
  await writeFile(resolve(workspace.repo, workspace.artifact), lambdaPackage("v42"));
  await writeFile(join(workspace.repo, ".gitignore"), "build/\n");
  await commitAndPush(workspace.repo, ["."], "Add the migrations, their load tests and schemas");
  return workspace;
}
