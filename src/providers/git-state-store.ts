/**
 * Status files committed with git. Commits are built with git's plumbing on
 * top of the state branch as fetched just now, so the working tree and the
 * checked-out branch are never disturbed and the state branch may be the
 * default branch or a dedicated one. A push rejected because another run
 * pushed first (non-fast-forward) fetches again, re-reads the status and
 * re-applies the same change: never a blind overwrite.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { formatSpecErrors, validateStatusText } from "../core/validate.js";
import { initialStatus, type MigrationStatus, STATUS_DIR } from "../model/status.js";
import {
  type RecordedStatus,
  type StateStore,
  type StatusChange,
  type StatusChangeFacts,
  type StatusUpdate,
  StatusWriteRefusedError,
  serialiseStatus,
} from "./state-store.js";

export interface GitStateStoreOptions {
  /** The repository clone to work in (GITHUB_WORKSPACE). */
  workspace: string;
  /** Branch the status files are committed to. */
  branch: string;
  /** Path of the spec relative to the repository root; status files live in `status/` beside it. */
  specPath: string;
  /** Remote to fetch from and push to. */
  remote?: string;
  /** Token for an HTTPS remote (the workflow's GITHUB_TOKEN); sent as a header, never written to .git/config. */
  token?: string;
  /** Commit author; the Actions bot by default. */
  author?: { name: string; email: string };
  /** Attempts to push, including the first. */
  maxAttempts?: number;
  /** Delay before the second attempt; doubles each time, with jitter. */
  baseDelayMs?: number;
  /** No attempt starts after this much time since the first. */
  budgetMs?: number;
  /** Time source for initial statuses. */
  now?: () => Date;
  /** Also write each recorded status into the workspace, for later steps that read it there. */
  syncWorkspace?: boolean;
}

/** The bot identity GitHub documents for commits made with GITHUB_TOKEN. */
export const ACTIONS_BOT = {
  name: "github-actions[bot]",
  email: "41898282+github-actions[bot]@users.noreply.github.com",
};

/** A private ref the fetched state branch is kept in, so remote-tracking refs are left alone. */
const FETCHED_REF = "refs/cutover/state";

/** Each git command is bounded. */
const GIT_TIMEOUT_MS = 60_000;

/** A git command failed; carries what git said. */
export class GitCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`git ${args.join(" ")} failed: ${stderr.trim()}`);
    this.name = "GitCommandError";
  }
}

/**
 * The environment that gives git an HTTP authorization header for one
 * command: a configuration entry added after any the environment already
 * carries (GIT_CONFIG_COUNT counts them).
 */
export function authConfigEnv(token: string, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const existing = Number.parseInt(base.GIT_CONFIG_COUNT ?? "0", 10);
  const index = Number.isInteger(existing) && existing > 0 ? existing : 0;
  return {
    GIT_CONFIG_COUNT: String(index + 1),
    [`GIT_CONFIG_KEY_${index}`]: "http.extraheader",
    [`GIT_CONFIG_VALUE_${index}`]: `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`,
  };
}

/** Another writer kept winning the race for longer than the retries allow. */
export class StateStoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateStoreConflictError";
  }
}

/** The rules a push refusal names, when the remote refused it by a repository rule (GH013) or branch protection (GH006). */
export function refusedByRule(error: unknown): string[] | undefined {
  if (!(error instanceof GitCommandError)) return undefined;
  if (
    !/GH013|GH006|repository rule violations|protected branch hook declined|Protected branch update failed/i.test(
      error.stderr,
    )
  )
    return undefined;
  const rules = error.stderr
    .split("\n")
    .map((line) => /^remote:\s+-\s+(.+)$/.exec(line.trim())?.[1]?.trim())
    .filter((rule): rule is string => !!rule);
  return rules.length > 0 ? rules : ["a repository rule (the remote named none)"];
}

/** True when git refused a push because the remote moved on (someone else pushed first). */
export function isNonFastForward(error: unknown): boolean {
  if (!(error instanceof GitCommandError)) return false;
  return /\[rejected\]|non-fast-forward|fetch first|\[remote rejected\].*(cannot lock ref|failed to update ref)|stale info/i.test(
    error.stderr,
  );
}

/** The structured commit message: a subject for people and trailers for tools (`git interpret-trailers`). */
export function statusCommitMessage(status: MigrationStatus, facts: StatusChangeFacts): string {
  const phase = status.phase ?? "none";
  const lines = [
    `cutover(${status.migration}): ${phase} ${status.state} [${facts.event}]`,
    "",
    facts.summary,
    "",
    `Cutover-Migration: ${status.migration}`,
    `Cutover-Phase: ${phase}`,
    `Cutover-State: ${status.state}`,
    `Cutover-Event: ${facts.event}`,
    `Cutover-Weights: old=${status.weights.old} new=${status.weights.new}`,
  ];
  if (facts.runUrl) lines.push(`Cutover-Run: ${facts.runUrl}`);
  return `${lines.join("\n")}\n`;
}

export class GitStateStore implements StateStore {
  readonly kind = "git" as const;
  readonly location: string;
  private readonly remote: string;
  private readonly statusDir: string;

  constructor(private readonly options: GitStateStoreOptions) {
    if (!/^[\w./-]+$/.test(options.branch) || options.branch.includes("..")) {
      throw new Error(`state branch "${options.branch}" is not a valid branch name`);
    }
    this.remote = options.remote ?? "origin";
    this.location = `branch ${options.branch} of ${this.remote}`;
    const specDir = posix.dirname(options.specPath.split("\\").join("/"));
    this.statusDir = specDir === "." ? STATUS_DIR : posix.join(specDir, STATUS_DIR);
  }

  /** Path of a migration's status file inside the repository. */
  statusPath(migrationId: string): string {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(migrationId)) {
      throw new Error(`migration id "${migrationId}" is not lowercase letters, digits and dashes`);
    }
    return posix.join(this.statusDir, `${migrationId}.json`);
  }

  async read(migrationId: string): Promise<RecordedStatus> {
    const tip = await this.fetchTip();
    const recorded = await this.readAt(tip, migrationId);
    if (this.options.syncWorkspace) await this.writeToWorkspace(recorded.status);
    return recorded;
  }

  async update(migrationId: string, change: StatusChange): Promise<StatusUpdate> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    const budgetMs = this.options.budgetMs ?? 60_000;
    const started = Date.now();
    let lastConflict: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const tip = await this.fetchTip();
      const current = await this.readAt(tip, migrationId);
      const next = change(current);
      if (!next || serialiseStatus(next.status) === serialiseStatus(current.status)) {
        if (this.options.syncWorkspace) await this.writeToWorkspace(current.status);
        return { status: current.status, committed: false, revision: tip, attempts: attempt };
      }
      const commit = await this.commitOnTop(tip, migrationId, next.status, next.facts);
      try {
        await this.git(
          ["push", "--porcelain", this.remote, `${commit}:refs/heads/${this.options.branch}`],
          true,
        );
      } catch (error) {
        const rules = refusedByRule(error);
        if (rules)
          throw new StatusWriteRefusedError(
            rules,
            `the status commit to ${this.location} was refused by the repository's rules: ${rules.join(" ")}`,
          );
        if (!isNonFastForward(error)) throw error;
        lastConflict = error;
        const delay =
          Math.min(3000, (this.options.baseDelayMs ?? 200) * 2 ** (attempt - 1)) * (0.5 + Math.random());
        if (attempt === maxAttempts || Date.now() - started + delay > budgetMs) break;
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      if (this.options.syncWorkspace) await this.writeToWorkspace(next.status);
      return { status: next.status, committed: true, revision: commit, attempts: attempt, facts: next.facts };
    }
    throw new StateStoreConflictError(
      `could not record the status of "${migrationId}" on ${this.location}: other commits kept arriving first ` +
        `(${maxAttempts} attempts in ${Math.round((Date.now() - started) / 1000)} s; last: ${(lastConflict as Error)?.message}). ` +
        "Nothing was overwritten; re-run the job to record it.",
    );
  }

  /** Writes a status into the workspace's status directory, as later steps of the job read it. */
  async writeToWorkspace(status: MigrationStatus): Promise<void> {
    const path = join(this.options.workspace, this.statusPath(status.migration));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, serialiseStatus(status));
  }

  /** Fetches the state branch; undefined when it does not exist yet. */
  private async fetchTip(): Promise<string | undefined> {
    try {
      await this.git(
        ["fetch", "--no-tags", "--quiet", this.remote, `+refs/heads/${this.options.branch}:${FETCHED_REF}`],
        true,
      );
    } catch (error) {
      if (error instanceof GitCommandError && /couldn't find remote ref|no such ref/i.test(error.stderr))
        return undefined;
      throw error;
    }
    return (await this.git(["rev-parse", "--verify", `${FETCHED_REF}^{commit}`])).trim();
  }

  private async readAt(tip: string | undefined, migrationId: string): Promise<RecordedStatus> {
    const path = this.statusPath(migrationId);
    const now = this.options.now?.() ?? new Date();
    if (!tip) return { status: initialStatus(migrationId, now), exists: false };
    let text: string;
    try {
      text = await this.git(["cat-file", "blob", `${tip}:${path}`]);
    } catch (error) {
      if (error instanceof GitCommandError)
        return { status: initialStatus(migrationId, now), exists: false, revision: tip };
      throw error;
    }
    return { status: this.validated(text, path, tip, migrationId), exists: true, revision: tip };
  }

  /**
   * The recorded status checked against status.schema.json and its rules: whatever is
   * on the state branch (a hand edit, an older writer) is bookkeeping that every
   * change is built on, so an invalid one is refused before anything is committed on it.
   */
  private validated(text: string, path: string, tip: string, migrationId: string): MigrationStatus {
    let parsed: { migration?: unknown } | undefined;
    try {
      parsed = JSON.parse(text) as { migration?: unknown };
    } catch (error) {
      throw new Error(
        `${path} at ${tip.slice(0, 12)} on ${this.location} is not valid JSON: ${(error as Error).message}`,
      );
    }
    if (parsed?.migration !== migrationId) {
      throw new Error(
        `${path} on ${this.location} holds the status of "${String(parsed?.migration)}", not "${migrationId}"`,
      );
    }
    const result = validateStatusText(
      text,
      `${path} at ${tip.slice(0, 12)} on ${this.location}`,
      migrationId,
    );
    if (!result.ok) {
      throw new Error(
        `${path} at ${tip.slice(0, 12)} on ${this.location} does not match status.schema.json (${result.errors.length} ${result.errors.length === 1 ? "error" : "errors"}):\n${formatSpecErrors(result.errors)}`,
      );
    }
    return result.value;
  }

  /** Builds a commit whose tree is the tip's with one status file replaced, in a private index. */
  private async commitOnTop(
    tip: string | undefined,
    migrationId: string,
    status: MigrationStatus,
    facts: StatusChangeFacts,
  ): Promise<string> {
    const scratch = await mkdtemp(join(tmpdir(), "cutover-index-"));
    const index = { GIT_INDEX_FILE: join(scratch, "index") };
    try {
      const blob = (
        await this.git(["hash-object", "-w", "--stdin"], false, {}, serialiseStatus(status))
      ).trim();
      if (tip) await this.git(["read-tree", tip], false, index);
      else await this.git(["read-tree", "--empty"], false, index);
      await this.git(
        ["update-index", "--add", "--cacheinfo", `100644,${blob},${this.statusPath(migrationId)}`],
        false,
        index,
      );
      const tree = (await this.git(["write-tree"], false, index)).trim();
      const author = this.options.author ?? ACTIONS_BOT;
      const identity = {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
      };
      const parents = tip ? ["-p", tip] : [];
      return (
        await this.git(
          ["commit-tree", tree, ...parents, "-F", "-"],
          false,
          identity,
          statusCommitMessage(status, facts),
        )
      ).trim();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private git(
    args: string[],
    remote = false,
    env: Record<string, string> = {},
    stdin?: string,
  ): Promise<string> {
    // The token reaches git through GIT_CONFIG_COUNT/KEY/VALUE in its environment, never its
    // command line, where any process on the runner can read it from /proc/<pid>/cmdline.
    const auth = remote && this.options.token ? authConfigEnv(this.options.token) : {};
    const full = args;
    return new Promise((resolve, reject) => {
      const child = execFile(
        "git",
        full,
        {
          cwd: this.options.workspace,
          env: { ...process.env, GIT_TERMINAL_PROMPT: "0", ...auth, ...env },
          timeout: GIT_TIMEOUT_MS,
          maxBuffer: 32 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          // `push --porcelain` reports a rejected ref on stdout, the rest on stderr.
          if (error)
            reject(new GitCommandError(args, `${stdout}\n${stderr || error.message}`.trim(), child.exitCode));
          else resolve(String(stdout));
        },
      );
      if (stdin !== undefined) child.stdin?.end(stdin);
    });
  }
}
