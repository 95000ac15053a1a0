/**
 * A local stand-in for the repository on GitHub: a bare git remote seeded
 * from files, and clones of it that play the runner's workspace.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Octo Cat",
      GIT_AUTHOR_EMAIL: "octocat@example.com",
      GIT_COMMITTER_NAME: "Octo Cat",
      GIT_COMMITTER_EMAIL: "octocat@example.com",
      GIT_TERMINAL_PROMPT: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface LocalRemote {
  /** Path of the bare repository (the remote's URL). */
  bare: string;
  root: string;
  /** A fresh clone at the tip of `branch`, as actions/checkout leaves it. */
  clone(name?: string, branch?: string): string;
  /** Commits files on top of `branch` of the remote (a person pushing), returns the new SHA. */
  push(files: Record<string, string>, message: string, branch?: string): string;
  /** A file's content at the tip of `branch` of the remote; undefined when absent. */
  show(path: string, branch?: string): string | undefined;
  /** SHA of the tip of `branch`. */
  tip(branch?: string): string;
}

/** Creates a bare remote whose `main` holds `files` (relative path → content). */
export function createLocalRemote(files: Record<string, string>): LocalRemote {
  const root = mkdtempSync(join(tmpdir(), "cutover-remote-"));
  const bare = join(root, "origin.git");
  git(root, "init", "--quiet", "--bare", "--initial-branch=main", bare);
  const seed = join(root, "seed");
  git(root, "clone", "--quiet", bare, seed);
  git(seed, "checkout", "--quiet", "-b", "main");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(seed, path)), { recursive: true });
    writeFileSync(join(seed, path), content);
  }
  git(seed, "add", "-A");
  git(seed, "commit", "--quiet", "-m", "Initial commit");
  git(seed, "push", "--quiet", "origin", "main");
  let clones = 0;
  const remote: LocalRemote = {
    bare,
    root,
    clone(name = `clone-${++clones}`, branch = "main") {
      const dir = join(root, name);
      git(root, "clone", "--quiet", "--branch", branch, bare, dir);
      return dir;
    },
    push(changes, message, branch = "main") {
      const dir = join(root, `push-${++clones}`);
      git(root, "clone", "--quiet", "--branch", branch, bare, dir);
      for (const [path, content] of Object.entries(changes)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      git(dir, "add", "-A");
      git(dir, "commit", "--quiet", "-m", message);
      git(dir, "push", "--quiet", "origin", branch);
      return git(dir, "rev-parse", "HEAD").trim();
    },
    show(path, branch = "main") {
      try {
        return git(bare, "show", `${branch}:${path}`);
      } catch {
        return undefined;
      }
    },
    tip(branch = "main") {
      return git(bare, "rev-parse", branch).trim();
    },
  };
  return remote;
}

/** Copies a directory tree (fixtures into a workspace). */
export function copyTree(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

/**
 * Makes the remote refuse pushes to `branch` as GitHub does when a ruleset
 * forbids them (error GH013, then each broken rule as "- …"), through a
 * pre-receive hook, so real git sees a real refusal.
 */
export function refusePushesByRule(
  remote: LocalRemote,
  branch: string,
  rules = ["Changes must be made through a pull request."],
): void {
  const lines = [
    `error: GH013: Repository rule violations found for refs/heads/${branch}.`,
    `Review all repository rules at https://github.com/example/platform/rules?ref=refs%2Fheads%2F${branch}`,
    "",
    ...rules.map((rule) => `- ${rule}`),
    "",
  ];
  const hook = join(remote.bare, "hooks", "pre-receive");
  writeFileSync(
    hook,
    [
      "#!/bin/sh",
      "while read old new ref; do",
      `  if [ "$ref" = "refs/heads/${branch}" ]; then`,
      ...lines.map((line) => `    echo '${line.replace(/'/g, "'\\''")}' >&2`),
      "    exit 1",
      "  fi",
      "done",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
}
