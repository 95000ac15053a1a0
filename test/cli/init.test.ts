// `cutover init` in-process: what it writes into an empty repository (a spec that `cutover validate`
// accepts), what it refuses (an existing file, a bad value, no source) and the answers a terminal gives.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/command.js";
import { COMMANDS } from "../../src/cli/commands.js";
import { createInitCommand, type Prompt } from "../../src/cli/init-command.js";
import { runCli } from "../../src/cli/main.js";

async function cli(cwd: string, argv: string[], commands = COMMANDS) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(
    argv,
    {
      cwd,
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      now: () => new Date("2026-03-10T00:00:00Z"),
    },
    commands,
  );
  return { code, stdout, stderr };
}

const emptyRepository = () => mkdtempSync(join(tmpdir(), "payments-api-"));
const SCAFFOLD = [
  "migrations.json",
  "load-tests/README.md",
  "load-tests/smoke.yml",
  "load-tests/sustained.yml",
  "status/README.md",
  ".github/cutover.json",
  ".github/CODEOWNERS",
  ".github/workflows/plan.yml",
  ".github/workflows/apply.yml",
  ".github/workflows/monitor.yml",
  ".github/workflows/rollback.yml",
  "CUTOVER.md",
];

describe("cutover init", () => {
  it("scaffolds an empty repository whose spec cutover validate accepts", async () => {
    const dir = emptyRepository();
    const init = await cli(dir, ["init", "--source", "acme/cutover", "--id", "payments-api"]);
    expect(init.code, init.stderr).toBe(EXIT.ok);
    for (const path of SCAFFOLD) expect(existsSync(join(dir, path)), path).toBe(true);
    expect(init.stdout).toContain("wrote .github/workflows/apply.yml");
    const validate = await cli(dir, ["validate"]);
    expect(validate.stderr).toBe("");
    expect(validate.stdout).toBe("migrations.json is valid: 1 migration (payments-api), 5 phases\n");
    expect(validate.code).toBe(EXIT.ok);
  });

  it("pins the workflows and the spec's $schema to the source and ref", async () => {
    const dir = emptyRepository();
    await cli(dir, ["init", "--source", "acme/cutover", "--ref", "v1.4.0"]);
    const spec = JSON.parse(readFileSync(join(dir, "migrations.json"), "utf8"));
    expect(spec.$schema).toBe("https://raw.githubusercontent.com/acme/cutover/v1.4.0/migrations.schema.json");
    for (const [caller, called] of [
      ["plan.yml", "cutover-plan.yml"],
      ["apply.yml", "cutover-apply.yml"],
      ["monitor.yml", "cutover-monitor.yml"],
      ["rollback.yml", "cutover-rollback.yml"],
    ]) {
      expect(readFileSync(join(dir, ".github", "workflows", caller!), "utf8")).toContain(
        `uses: acme/cutover/.github/workflows/${called}@v1.4.0\n`,
      );
    }
  });

  it("takes every value from flags, and lists the example values it used in the checklist", async () => {
    const dir = emptyRepository();
    const init = await cli(dir, [
      "init",
      "--source=acme/cutover",
      "--id=payments-api",
      "--record-name=payments.acme.dev",
      "--hosted-zone-id=Z123ACME",
      "--ecs-cluster=live",
      "--production-environment=prod",
      "--branch=trunk",
      "--owners=@acme/payments @acme/sre",
    ]);
    expect(init.code, init.stderr).toBe(EXIT.ok);
    const migration = JSON.parse(readFileSync(join(dir, "migrations.json"), "utf8")).migrations[0];
    expect(migration).toMatchObject({
      id: "payments-api",
      router: { recordName: "payments.acme.dev", hostedZoneId: "Z123ACME" },
      oldSide: { cluster: "live", service: "payments-api" },
      newSide: { functionName: "payments-api", alias: "live" },
    });
    expect(migration.phases.map((phase: { environment: string }) => phase.environment)).toEqual([
      "staging",
      "prod",
      "prod",
      "prod",
      "prod-decommission",
    ]);
    expect(readFileSync(join(dir, ".github", "workflows", "apply.yml"), "utf8")).toContain(
      "    branches:\n      - trunk\n",
    );
    expect(readFileSync(join(dir, ".github", "CODEOWNERS"), "utf8")).toContain(
      "/.github/ @acme/payments @acme/sre\n",
    );
    const checklist = readFileSync(join(dir, "CUTOVER.md"), "utf8");
    expect(checklist).toContain("`cutover-prod`, `cutover-prod-decommission`, `cutover-rollback`");
    expect(checklist).toContain("`ecs-service payments-api`");
    expect(checklist).not.toContain("hosted-zone-id");
  });

  it("refuses to overwrite, naming the file, and writes nothing at all", async () => {
    const dir = emptyRepository();
    writeFileSync(join(dir, "migrations.json"), '{"version":1,"migrations":[]}\n');
    const init = await cli(dir, ["init", "--source", "acme/cutover"]);
    expect(init.code).toBe(EXIT.invalid);
    expect(init.stderr).toContain(`${join(dir, "migrations.json")} already exists; nothing was written`);
    expect(readFileSync(join(dir, "migrations.json"), "utf8")).toBe('{"version":1,"migrations":[]}\n');
    expect(existsSync(join(dir, ".github"))).toBe(false);
    expect(existsSync(join(dir, "load-tests"))).toBe(false);
  });

  it("overwrites with --force and says which files it replaced", async () => {
    const dir = emptyRepository();
    mkdirSync(join(dir, "status"));
    writeFileSync(join(dir, "status", "README.md"), "old\n");
    const init = await cli(dir, ["init", "--source", "acme/cutover", "--force"]);
    expect(init.code, init.stderr).toBe(EXIT.ok);
    expect(init.stdout).toContain("wrote status/README.md (overwritten)");
    expect(readFileSync(join(dir, "status", "README.md"), "utf8")).toContain("Never edit these by hand");
  });

  it("needs to know where cutover is used from", async () => {
    const init = await cli(emptyRepository(), ["init"]);
    expect(init.code).toBe(EXIT.usage);
    expect(init.stderr).toContain("--source: name the GitHub repository cutover is used from, as owner/name");
  });

  it("refuses values that would make a broken spec or workflow, naming each option", async () => {
    const dir = emptyRepository();
    const init = await cli(dir, [
      "init",
      "--source",
      "acme",
      "--id",
      "Payments API",
      "--load-balancer",
      "payments",
      "--owners",
      "payments-team",
    ]);
    expect(init.code).toBe(EXIT.invalid);
    expect(init.stderr).toContain('--id "Payments API": expected a lower-case id');
    expect(init.stderr).toContain('--source "acme": expected the GitHub repository cutover is used from');
    expect(init.stderr).toContain('--load-balancer "payments": expected a LoadBalancer dimension');
    expect(init.stderr).toContain('--owners "payments-team": expected space-separated @user');
    expect(existsSync(join(dir, "migrations.json"))).toBe(false);
  });

  it("asks in a terminal for what the flags leave out, and --yes asks nothing", async () => {
    const asked: string[] = [];
    const answers: Record<string, string> = {
      "GitHub repository cutover is used from (owner/name)": "acme/cutover",
      "Migration id": "ledger",
      "Route 53 record the migration routes": "ledger.acme.dev",
    };
    const prompt: Prompt = async (question, fallback) => {
      asked.push(question);
      return answers[question] ?? fallback;
    };
    const commands = new Map([
      ["init", createInitCommand(prompt)],
      ...[...COMMANDS].filter(([n]) => n !== "init"),
    ]);
    const dir = emptyRepository();
    const init = await cli(dir, ["init", "--ecs-cluster", "blue"], commands);
    expect(init.code, init.stderr).toBe(EXIT.ok);
    expect(asked).not.toContain("ECS cluster of the old side");
    expect(asked).toContain("Hosted zone id of that record");
    const migration = JSON.parse(readFileSync(join(dir, "migrations.json"), "utf8")).migrations[0];
    expect(migration).toMatchObject({
      id: "ledger",
      router: { recordName: "ledger.acme.dev" },
      oldSide: { cluster: "blue" },
    });
    // Answered questions are not example values any more.
    expect(readFileSync(join(dir, "CUTOVER.md"), "utf8")).not.toContain("example values");

    asked.length = 0;
    const quiet = await cli(emptyRepository(), ["init", "--yes", "--source", "acme/cutover"], commands);
    expect(quiet.code, quiet.stderr).toBe(EXIT.ok);
    expect(asked).toEqual([]);
  });

  it("is listed in cutover --help", async () => {
    const help = await cli(emptyRepository(), ["--help"]);
    expect(help.stdout).toMatch(/\n {2}init +scaffold a repository that adopts cutover/);
  });
});
