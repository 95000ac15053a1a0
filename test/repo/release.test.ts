// scripts/release.mjs on a scratch repository: a release is a commit with current bundles, the changelog
// section written from the commits since the last release, an annotated vX.Y.Z and the moving vX; refusals
// change nothing.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { git } from "../support/git-remote.js";
import { repoRoot } from "../support/run-action.js";

const IDENTITY = {
  GIT_AUTHOR_NAME: "Octo Cat",
  GIT_AUTHOR_EMAIL: "octocat@example.com",
  GIT_COMMITTER_NAME: "Octo Cat",
  GIT_COMMITTER_EMAIL: "octocat@example.com",
};

/** A repository at version 0.1.0 whose `check-dist` passes or fails as told (the file dist-ok decides). */
function scratchRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), "cutover-release-"));
  git(dir, "init", "--quiet", "--initial-branch=main");
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify(
      {
        name: "cutover",
        version: "0.1.0",
        scripts: { "check-dist": `node -e "process.exit(require('fs').existsSync('dist-ok') ? 0 : 1)"` },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    join(dir, "package-lock.json"),
    `${JSON.stringify({ name: "cutover", version: "0.1.0", lockfileVersion: 3, packages: { "": { name: "cutover", version: "0.1.0" } } }, null, 2)}\n`,
  );
  writeFileSync(join(dir, "dist-ok"), "");
  git(dir, "add", "-A");
  git(dir, "commit", "--quiet", "-m", "Scaffold the repository");
  return dir;
}

function commit(dir: string, file: string, message: string) {
  writeFileSync(join(dir, file), `${message}\n`);
  git(dir, "add", file);
  git(dir, "commit", "--quiet", "-m", message);
}

function release(dir: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [join(repoRoot, "scripts", "release.mjs"), ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, ...IDENTITY },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const commitOf = (dir: string, ref: string) => git(dir, "rev-parse", `${ref}^{commit}`).trim();

describe("scripts/release.mjs", () => {
  it("prepares the first release: changelog, version, vX.Y.Z and vX on the release commit", () => {
    const dir = scratchRepository();
    commit(dir, "a.txt", "Roll back from any state");
    const run = release(dir, "prepare", "0.2.0", "--date", "2026-12-03");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("git push origin HEAD v0.2.0 && git push --force origin v0");
    const changelog = readFileSync(join(dir, "CHANGELOG.md"), "utf8");
    expect(changelog).toContain(
      "## v0.2.0 (2026-12-03)\n\n- Scaffold the repository\n- Roll back from any state\n",
    );
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version).toBe("0.2.0");
    const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8"));
    expect([lock.version, lock.packages[""].version]).toEqual(["0.2.0", "0.2.0"]);
    expect(git(dir, "log", "-1", "--format=%s").trim()).toBe("Release v0.2.0");
    expect(commitOf(dir, "v0.2.0")).toBe(commitOf(dir, "HEAD"));
    expect(commitOf(dir, "v0")).toBe(commitOf(dir, "HEAD"));
    expect(git(dir, "cat-file", "-t", "v0.2.0").trim()).toBe("tag");
    expect(git(dir, "tag", "-l", "--format=%(contents)", "v0.2.0")).toContain("- Roll back from any state");
    expect(git(dir, "status", "--porcelain").trim()).toBe("");
  });

  it("writes the next release from the commits since the last one and moves vX to it", () => {
    const dir = scratchRepository();
    expect(release(dir, "prepare", "1.0.0", "--date", "2026-12-01").status).toBe(0);
    const first = commitOf(dir, "v1");
    commit(dir, "b.txt", "Scaffold adopting repositories with cutover init");
    const run = release(dir, "prepare", "v1.1.0", "--date", "2026-12-03");
    expect(run.status, run.stderr).toBe(0);
    const section = release(dir, "notes", "v1.1.0");
    expect(section.stdout.trim()).toBe("- Scaffold adopting repositories with cutover init");
    expect(commitOf(dir, "v1")).not.toBe(first);
    expect(commitOf(dir, "v1")).toBe(commitOf(dir, "v1.1.0"));
    expect(commitOf(dir, "v1.0.0")).toBe(first);
    const changelog = readFileSync(join(dir, "CHANGELOG.md"), "utf8");
    expect(changelog.indexOf("## v1.1.0")).toBeLessThan(changelog.indexOf("## v1.0.0"));
  });

  it("refuses when a bundle is stale, and changes nothing", () => {
    const dir = scratchRepository();
    git(dir, "rm", "--quiet", "dist-ok");
    git(dir, "commit", "--quiet", "-m", "Change a source without rebuilding");
    const head = commitOf(dir, "HEAD");
    const run = release(dir, "prepare", "0.2.0");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("release: the bundles are not current (npm run check-dist)");
    expect(commitOf(dir, "HEAD")).toBe(head);
    expect(git(dir, "tag", "--list").trim()).toBe("");
    expect(git(dir, "status", "--porcelain").trim()).toBe("");
  });

  it("refuses a dirty tree, a version that is not after the last release, and a malformed one", () => {
    const dir = scratchRepository();
    expect(release(dir, "prepare", "0.2.0").status).toBe(0);
    expect(release(dir, "prepare", "0.2.0").stderr).toContain(
      "release: v0.2.0 is not after the last release v0.2.0",
    );
    expect(release(dir, "prepare", "0.1.9").stderr).toContain("is not after the last release v0.2.0");
    expect(release(dir, "prepare", "1.2").stderr).toContain(
      'release: "1.2" is not a release version: expected X.Y.Z',
    );
    writeFileSync(join(dir, "package.json"), "{}\n");
    const dirty = release(dir, "prepare", "0.3.0");
    expect(dirty.status).toBe(1);
    expect(dirty.stderr).toContain("the working tree has uncommitted changes");
  });

  it("verifies a tag against package.json, the changelog and HEAD", () => {
    const dir = scratchRepository();
    expect(release(dir, "prepare", "0.2.0").status).toBe(0);
    expect(release(dir, "verify", "v0.2.0")).toMatchObject({
      status: 0,
      stdout: "v0.2.0 is ready to publish\n",
    });
    expect(release(dir, "verify", "v0.3.0").stderr).toContain(
      "tag v0.3.0 does not match package.json's version 0.2.0",
    );
    commit(dir, "c.txt", "A later change");
    expect(release(dir, "verify", "v0.2.0").stderr).toMatch(
      /tag v0\.2\.0 is [0-9a-f]{12}, not HEAD [0-9a-f]{12}/,
    );
  });

  it("prints nothing it did not do on a dry run", () => {
    const dir = scratchRepository();
    const run = release(dir, "prepare", "0.2.0", "--dry-run", "--date", "2026-12-03");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("## v0.2.0 (2026-12-03)\n\n- Scaffold the repository");
    expect(run.stdout).toContain("(dry run: nothing was changed)");
    expect(git(dir, "tag", "--list").trim()).toBe("");
  });
});
