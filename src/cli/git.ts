/**
 * Reads a file as it was at a git ref, for `cutover plan --base`. Bounded:
 * each git call has a timeout and a size limit.
 */
import { spawnSync } from "node:child_process";
import { basename, dirname } from "node:path";
import { UsageError } from "./command.js";

const GIT_TIMEOUT_MS = 15_000;
const MAX_SPEC_BYTES = 16 * 1024 * 1024;

function git(args: string[], cwd: string) {
  const result = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    timeout: GIT_TIMEOUT_MS,
    maxBuffer: MAX_SPEC_BYTES,
  });
  if (result.error) throw new Error(`git ${args[0]} failed: ${result.error.message}`);
  return result;
}

/**
 * The text of `file` at `ref`, or undefined when the file does not exist
 * there. An unknown ref is a usage error.
 */
export function readFileAtRef(file: string, ref: string): string | undefined {
  const cwd = dirname(file);
  if (ref.startsWith("-")) throw new UsageError(`--base "${ref}" is not a git ref`);
  const commit = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], cwd);
  if (commit.status !== 0) {
    throw new UsageError(`--base "${ref}" is not a commit of the git repository at ${cwd}`);
  }
  // "./name" makes git resolve the path relative to the spec's directory, wherever the repository root is.
  const object = `${commit.stdout.trim()}:./${basename(file)}`;
  if (git(["cat-file", "-e", object], cwd).status !== 0) return undefined;
  const shown = git(["show", object], cwd);
  if (shown.status !== 0) throw new Error(`git show ${ref}:${basename(file)} failed: ${shown.stderr.trim()}`);
  return shown.stdout;
}
