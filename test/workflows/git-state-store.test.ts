// The git state store against a real local bare remote: commits built on top
// of the state branch, structured messages, and a non-fast-forward answered
// by re-reading and re-applying the change rather than overwriting.

import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MigrationStatus } from "../../src/model/status.js";
import {
  authConfigEnv,
  GitStateStore,
  StateStoreConflictError,
  statusCommitMessage,
} from "../../src/providers/git-state-store.js";
import {
  createStateStore,
  type StatusChange,
  StatusWriteRefusedError,
} from "../../src/providers/state-store.js";
import { createLocalRemote, git, refusePushesByRule } from "../support/git-remote.js";

const SPEC = '{"version":1,"migrations":[]}\n';
const NOW = new Date("2026-03-01T12:00:00Z");

function store(
  workspace: string,
  branch = "main",
  extra: Partial<ConstructorParameters<typeof GitStateStore>[0]> = {},
) {
  return new GitStateStore({
    workspace,
    branch,
    specPath: "migrations.json",
    now: () => NOW,
    baseDelayMs: 5,
    ...extra,
  });
}

/** A change that appends one history entry and moves the weights by `step`. */
function bump(step: number, event: string): StatusChange {
  return ({ status }) => {
    const next: MigrationStatus = structuredClone(status);
    next.weights = { old: status.weights.old - step, new: status.weights.new + step };
    next.history.push({
      at: NOW.toISOString(),
      event,
      phase: next.phase,
      from: status.state,
      to: status.state,
    });
    return {
      status: next,
      facts: {
        event,
        summary: `moved ${step}`,
        runUrl: "https://github.com/example/platform/actions/runs/1",
      },
    };
  };
}

describe("git state store", () => {
  it("stops at once when a repository rule refuses the push, naming the rule, and changes nothing", async () => {
    const remote = createLocalRemote({ "migrations.json": SPEC });
    refusePushesByRule(remote, "main", [
      "Changes must be made through a pull request.",
      'Required status check "ci" is expected.',
    ]);
    const before = remote.tip();
    const states = store(remote.clone());
    let calls = 0;
    const counting: StatusChange = (current) => {
      calls++;
      return bump(10, "shifted")(current);
    };
    const error = await states.update("orders-api", counting).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StatusWriteRefusedError);
    expect((error as StatusWriteRefusedError).rules).toEqual([
      "Changes must be made through a pull request.",
      'Required status check "ci" is expected.',
    ]);
    expect((error as Error).message).toMatch(/refused by the repository's rules/);
    // Not retried as if another run had pushed first.
    expect(calls).toBe(1);
    expect(remote.tip()).toBe(before);
    expect(remote.show("status/orders-api.json")).toBeUndefined();
  });

  it("reads the initial status when nothing was recorded, and commits a change with a structured message", async () => {
    const remote = createLocalRemote({ "migrations.json": SPEC });
    const workspace = remote.clone();
    const before = remote.tip();
    const states = store(workspace);
    const read = await states.read("orders-api");
    expect(read.exists).toBe(false);
    expect(read.status.weights).toEqual({ old: 100, new: 0 });

    const update = await states.update("orders-api", bump(10, "shifted"));
    expect(update.committed).toBe(true);
    expect(update.attempts).toBe(1);
    const recorded = JSON.parse(remote.show("status/orders-api.json")!) as MigrationStatus;
    expect(recorded.weights).toEqual({ old: 90, new: 10 });
    expect(git(remote.bare, "rev-parse", "main~1").trim()).toBe(before);
    const message = git(remote.bare, "log", "-1", "--format=%B", "main");
    expect(message).toMatch(/^cutover\(orders-api\): none pending \[shifted\]/);
    const trailers = git(remote.bare, "log", "-1", "--format=%(trailers:only,unfold)", "main");
    expect(trailers).toContain("Cutover-Migration: orders-api");
    expect(trailers).toContain("Cutover-State: pending");
    expect(trailers).toContain("Cutover-Run: https://github.com/example/platform/actions/runs/1");
    expect(git(remote.bare, "log", "-1", "--format=%an <%ae>", "main").trim()).toBe(
      "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>",
    );
    // The workspace's own branch and files are left as they were.
    expect(git(workspace, "rev-parse", "HEAD").trim()).toBe(before);
    expect(git(workspace, "status", "--porcelain").trim()).toBe("");
  });

  it("re-reads and re-applies the change when another run pushed first", async () => {
    const remote = createLocalRemote({ "migrations.json": SPEC });
    const first = store(remote.clone());
    const second = store(remote.clone());
    await first.update("orders-api", bump(10, "shifted"));

    let calls = 0;
    const racing: StatusChange = (current) => {
      calls++;
      if (calls === 1) {
        // Another run records its change between this read and this push.
        remote.push(
          {
            "status/orders-api.json": `${JSON.stringify({ ...current.status, weights: { old: 60, new: 40 } }, null, 2)}\n`,
          },
          "another run",
        );
      }
      return bump(5, "gate-checked")(current);
    };
    const update = await second.update("orders-api", racing);
    expect(update.attempts).toBe(2);
    expect(calls).toBe(2);
    const recorded = JSON.parse(remote.show("status/orders-api.json")!) as MigrationStatus;
    // The change was applied to the other run's status, not to the stale one.
    expect(recorded.weights).toEqual({ old: 55, new: 45 });
    expect(git(remote.bare, "log", "-1", "--format=%s", "main~1").trim()).toBe("another run");
  });

  it("gives up after the bounded attempts with a message naming the branch, and overwrites nothing", async () => {
    const remote = createLocalRemote({ "migrations.json": SPEC });
    const states = store(remote.clone(), "main", { maxAttempts: 3 });
    let n = 0;
    const alwaysLosing: StatusChange = (current) => {
      remote.push({ [`noise-${++n}.txt`]: "x" }, `noise ${n}`);
      return bump(1, "shifted")(current);
    };
    await expect(states.update("orders-api", alwaysLosing)).rejects.toThrow(StateStoreConflictError);
    await expect(states.update("orders-api", alwaysLosing)).rejects.toThrow(
      /branch main of origin.*3 attempts/s,
    );
    expect(remote.show("status/orders-api.json")).toBeUndefined();
  });

  it("records nothing when the change finds nothing to record", async () => {
    const remote = createLocalRemote({ "migrations.json": SPEC });
    const states = store(remote.clone());
    await states.update("orders-api", bump(10, "shifted"));
    const tip = remote.tip();
    const same = await states.update("orders-api", ({ status }) => ({
      status,
      facts: { event: "x", summary: "" },
    }));
    expect(same.committed).toBe(false);
    const none = await states.update("orders-api", () => undefined);
    expect(none.committed).toBe(false);
    expect(remote.tip()).toBe(tip);
  });

  it("creates a dedicated state branch on first use and keeps the default branch untouched", async () => {
    const remote = createLocalRemote({ "migrations.json": SPEC });
    const mainTip = remote.tip();
    const workspace = remote.clone();
    const states = store(workspace, "cutover-state", { syncWorkspace: true });
    await states.update("orders-api", bump(10, "shifted"));
    expect(remote.tip()).toBe(mainTip);
    expect(JSON.parse(remote.show("status/orders-api.json", "cutover-state")!).weights).toEqual({
      old: 90,
      new: 10,
    });
    // Later steps of the job read the recorded status from the workspace.
    expect(JSON.parse(readFileSync(join(workspace, "status/orders-api.json"), "utf8")).weights).toEqual({
      old: 90,
      new: 10,
    });
    const again = await createStateStore("git", {
      git: { workspace: remote.clone(), branch: "cutover-state", specPath: "migrations.json" },
    }).read("orders-api");
    expect(again.exists).toBe(true);
    expect(again.status.weights.new).toBe(10);
  });

  it("refuses an unknown store kind, a bad branch and a bad migration id", () => {
    expect(() => createStateStore("s3", {})).toThrow(/state store "s3" is not known; known kinds: git/);
    expect(() => store("/tmp", "main;rm")).toThrow(/not a valid branch name/);
    expect(() => store("/tmp").statusPath("../etc")).toThrow(/lowercase letters/);
  });

  it("puts the run link and the weights in the message trailers", () => {
    const message = statusCommitMessage(
      {
        version: 2,
        migration: "orders-api",
        phase: "canary-10",
        state: "baking",
        weights: { old: 90, new: 10 },
        checkpoints: [],
        timestamps: { updatedAt: NOW.toISOString() },
        history: [],
      },
      { event: "shifted", summary: "10 % on the new side", runUrl: "https://example/run/1" },
    );
    expect(message.split("\n")[0]).toBe("cutover(orders-api): canary-10 baking [shifted]");
    expect(message).toContain("Cutover-Weights: old=90 new=10\nCutover-Run: https://example/run/1\n");
  });
});

describe("git credentials", () => {
  it("gives git the token through GIT_CONFIG_* in its environment, never on its command line", async () => {
    const remote = createLocalRemote({ "migrations.json": SPEC });
    const workspace = remote.clone();
    // A git on PATH that logs its arguments and configuration entries, then runs the real one.
    const bin = mkdtempSync(join(tmpdir(), "cutover-git-spy-"));
    const log = join(bin, "log");
    const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    writeFileSync(
      join(bin, "git"),
      `#!/bin/sh\nprintf 'argv %s\\n' "$*" >> "${log}"\nprintf 'env %s=%s\\n' "$GIT_CONFIG_KEY_0" "$GIT_CONFIG_VALUE_0" >> "${log}"\nexec "${realGit}" "$@"\n`,
    );
    chmodSync(join(bin, "git"), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      await store(workspace, "main", { token: "ghs_secret_token" }).update("orders-api", bump(10, "shifted"));
    } finally {
      process.env.PATH = path;
    }
    const lines = readFileSync(log, "utf8").split("\n");
    const encoded = Buffer.from("x-access-token:ghs_secret_token").toString("base64");
    expect(lines.filter((line) => line.startsWith("argv ")).join("\n")).not.toContain(encoded);
    expect(lines.filter((line) => line.startsWith("argv ")).join("\n")).not.toContain("extraheader");
    expect(lines).toContain(`env http.extraheader=AUTHORIZATION: basic ${encoded}`);
    expect(JSON.parse(remote.show("status/orders-api.json")!).weights).toEqual({ old: 90, new: 10 });
  });

  it("adds its entry after the configuration entries the environment already has", () => {
    const env = authConfigEnv("t", { GIT_CONFIG_COUNT: "2" });
    expect(env.GIT_CONFIG_COUNT).toBe("3");
    expect(env.GIT_CONFIG_KEY_2).toBe("http.extraheader");
    expect(authConfigEnv("t", {}).GIT_CONFIG_COUNT).toBe("1");
  });
});
