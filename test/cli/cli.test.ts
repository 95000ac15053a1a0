// The cutover CLI in-process (runCli with captured output) and as the
// installed bin runs it, against temporary git repositories.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliCommand, EXIT } from "../../src/cli/command.js";
import { COMMANDS } from "../../src/cli/commands.js";
import { runCli } from "../../src/cli/main.js";
import { type HistoryEntry, initialStatus, type MigrationStatus } from "../../src/model/status.js";
import { statusPath, writeStatus } from "../../src/spec/files.js";
import { git } from "../support/git-remote.js";
import { repoRoot } from "../support/run-action.js";

const NOW = new Date("2026-03-10T00:00:00.000Z");
const example = JSON.parse(readFileSync(join(repoRoot, "migrations.json"), "utf8"));
const SCENARIOS = ["smoke.yml", "sustained-100rps.yml", "spike-500rps.yml"];

function specAt(phase: string): string {
  const spec = structuredClone(example);
  spec.migrations[0].phase = phase;
  return `${JSON.stringify(spec, null, 2)}\n`;
}

/** A directory with the example's load-test scenarios and the spec at `phase`. */
function workspace(prefix: string, phase: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, "load-tests"));
  for (const name of SCENARIOS)
    writeFileSync(join(dir, "load-tests", name), "config:\n  target: http://127.0.0.1\n");
  writeFileSync(join(dir, "migrations.json"), specAt(phase));
  return dir;
}

async function cli(cwd: string, ...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    cwd,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    now: () => NOW,
  });
  return { code, stdout, stderr };
}

function passedStatus(phase: string, weight: number): MigrationStatus {
  const entry: HistoryEntry = {
    at: "2026-03-09T23:00:00.000Z",
    event: "gate-evaluated",
    phase,
    from: "baking",
    to: "passed",
    verdict: "pass",
    reason: 'gate "standard" passed and the bake is over',
    evidence: { kind: "gate", gate: "standard", samples: 250000 },
  };
  return {
    ...initialStatus("orders-api", NOW),
    phase,
    state: "passed",
    weights: { old: 100 - weight, new: weight },
    lastVerdict: { verdict: "pass", at: entry.at, gate: "standard" },
    history: [entry],
  };
}

let repo: string;

beforeAll(async () => {
  repo = workspace("cutover-cli-", "canary-10");
  git(repo, "init", "--quiet", "--initial-branch=main");
  await writeStatus(repo, passedStatus("canary-10", 10));
  git(repo, "add", ".");
  git(repo, "commit", "--quiet", "-m", "canary-10 passed");
  writeFileSync(join(repo, "migrations.json"), specAt("canary-50"));
  git(repo, "commit", "--quiet", "-am", "Promote orders-api to canary-50");
});

afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe("cutover plan --base", () => {
  it("a commit that bumps one phase after the current one passed prints the plan and exits 0", async () => {
    const result = await cli(repo, "plan", "--base", "HEAD~1");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain("<!-- cutover-plan -->");
    expect(result.stdout).toContain("✅ **Allowed** (forward, canary-10 → canary-50)");
    expect(result.stdout).toContain("Shift traffic: new 10 % → 50 %");
    expect(result.stdout).toContain('Bake 72h under gate "standard"');
    expect(result.stdout).toContain(
      "| canary-10 | passed | 90 % / 10 % | — | pass (standard) at 2026-03-09T23:00:00.000Z | yes |",
    );
  });

  it("--json prints the same plan as JSON", async () => {
    const result = await cli(repo, "plan", "--base", "HEAD~1", "--json");
    expect(result.code).toBe(EXIT.ok);
    const plan = JSON.parse(result.stdout);
    expect(plan).toMatchObject({
      ok: true,
      base: "HEAD~1",
      migrations: [{ decision: { kind: "forward", allowed: true } }],
    });
    expect(plan.migrations[0].steps.map((step: { kind: string }) => step.kind)).toEqual(["shift", "bake"]);
  });

  it("a commit that skips a phase exits 1 with the reason", async () => {
    const branch = mkdtempSync(join(tmpdir(), "cutover-cli-skip-"));
    try {
      git(branch, "clone", "--quiet", repo, ".");
      await writeStatus(branch, passedStatus("canary-50", 50));
      git(branch, "commit", "--quiet", "-am", "canary-50 passed");
      writeFileSync(join(branch, "migrations.json"), specAt("decommission"));
      git(branch, "commit", "--quiet", "-am", "Jump to decommission");
      const result = await cli(branch, "plan", "--base", "HEAD~1");
      expect(result.code).toBe(EXIT.invalid);
      expect(result.stderr).toContain(
        'orders-api: "canary-50" → "decommission" skips "full"; move one phase at a time',
      );
      expect(result.stdout).toContain("⛔ **Refused**");
    } finally {
      rmSync(branch, { recursive: true, force: true });
    }
  });

  it("a spec missing at the base ref means every migration is new", async () => {
    const fresh = workspace("cutover-cli-new-", "canary-10");
    try {
      git(fresh, "init", "--quiet", "--initial-branch=main");
      git(fresh, "add", "load-tests");
      git(fresh, "commit", "--quiet", "-m", "scenarios only");
      const wrongStart = await cli(fresh, "plan", "--base", "HEAD");
      expect(wrongStart.code).toBe(EXIT.invalid);
      expect(wrongStart.stderr).toContain('a new migration must start at its first phase "staging"');
      writeFileSync(join(fresh, "migrations.json"), specAt("staging"));
      const start = await cli(fresh, "plan", "--base", "HEAD");
      expect(start.code).toBe(EXIT.ok);
      expect(start.stdout).toContain("Deploy the release to the new side");
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("an unknown ref is a usage error", async () => {
    const result = await cli(repo, "plan", "--base", "no-such-ref");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('--base "no-such-ref" is not a commit');
  });
});

describe("cutover validate and status", () => {
  it("validate passes on the example and reports every error of a broken spec with its path and line", async () => {
    expect(await cli(repo, "validate")).toMatchObject({
      code: 0,
      stdout: "migrations.json is valid: 1 migration (orders-api), 5 phases\n",
    });
    const spec = structuredClone(example);
    spec.migrations[0].phases[2].steps[0].weight = 150;
    spec.migrations[0].phases[1].steps[2].gate = "strict";
    writeFileSync(join(repo, "broken.json"), JSON.stringify(spec, null, 2));
    try {
      const result = await cli(repo, "validate", "broken.json");
      expect(result.code).toBe(EXIT.invalid);
      expect(result.stderr).toContain(
        'broken.json:143 migrations[0].phases[1].steps[2].gate: "strict" is not a gate of this migration (expected one of its gates: "standard")',
      );
      expect(result.stderr).toContain(
        "broken.json:153 migrations[0].phases[2].steps[0].weight: 150 is outside 0–100 (expected an integer percentage 0–100)",
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(join(repo, "broken.json"));
    }
  });

  it("validate reports a malformed status file", async () => {
    const dir = workspace("cutover-cli-status-", "staging");
    try {
      mkdirSync(join(dir, "status"));
      writeFileSync(statusPath(dir, "orders-api"), '{"version": 1}');
      const result = await cli(dir, "validate");
      expect(result.code).toBe(EXIT.invalid);
      expect(result.stderr).toContain("orders-api.json:1 migration: is missing");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("status prints a table, and --json the rows", async () => {
    const table = await cli(repo, "status");
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trim().split("\n");
    expect(header).toMatch(
      /^MIGRATION\s+PHASE\s+SPEC WANTS\s+STATE\s+WEIGHTS \(OLD\/NEW\)\s+BAKE LEFT\s+LAST VERDICT$/,
    );
    expect(row).toMatch(
      /^orders-api\s+canary-10\s+canary-50\s+passed\s+90\/10\s+-\s+pass 2026-03-09T23:00:00.000Z$/,
    );
    const json = await cli(repo, "status", "--json");
    expect(JSON.parse(json.stdout)).toEqual([
      {
        migration: "orders-api",
        phase: "canary-10",
        desiredPhase: "canary-50",
        state: "passed",
        weights: { old: 90, new: 10 },
        lastVerdict: { verdict: "pass", at: "2026-03-09T23:00:00.000Z", gate: "standard" },
      },
    ]);
  });
});

describe("usage", () => {
  it("help exits 0, unknown commands and options exit 2", async () => {
    const help = await cli(repo, "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/validate .*\n\s+plan .*\n\s+status /);
    expect((await cli(repo, "plan", "--help")).stdout).toContain("Usage: cutover plan");
    expect(await cli(repo, "deploy")).toMatchObject({
      code: EXIT.usage,
      stderr: expect.stringContaining('unknown command "deploy"'),
    });
    expect(await cli(repo, "status", "--verbose")).toMatchObject({
      code: EXIT.usage,
      stderr: expect.stringContaining("--verbose"),
    });
    expect(await cli(repo, "validate", "a.json", "b.json")).toMatchObject({ code: EXIT.usage });
    expect((await cli(repo)).code).toBe(EXIT.usage);
  });

  it("commands come from one table that further commands join", async () => {
    const extra: CliCommand = {
      name: "sandbox",
      summary: "start the local AWS",
      usage: "Usage: cutover sandbox",
      run: async (args, io) => {
        io.stdout(`sandbox ${args.join(" ")}\n`);
        return 0;
      },
    };
    const commands = new Map([...COMMANDS, [extra.name, extra]]);
    let out = "";
    const io = {
      cwd: repo,
      stdout: (text: string) => {
        out += text;
      },
      stderr: () => {},
      now: () => NOW,
    };
    expect(await runCli(["sandbox", "--seed", "1"], io, commands)).toBe(0);
    expect(out).toBe("sandbox --seed 1\n");
  });
});

describe("bin/cutover.js", () => {
  it("runs the TypeScript CLI as a process: plan --base HEAD~1 exits 0, a usage error exits 2", () => {
    const bin = join(repoRoot, "bin/cutover.js");
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: "utf8", timeout: 60_000 });
    const ok = run("plan", "--base", "HEAD~1");
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("forward, canary-10 → canary-50");
    const usage = run("plan", "--nope");
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("cutover plan: Unknown option '--nope'");
    expect(usage.stderr).not.toMatch(/\n\s+at /);
  });
});
