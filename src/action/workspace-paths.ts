/**
 * Inputs that name files the action reads from the checkout. Each is refused
 * when it resolves outside the workspace (GITHUB_WORKSPACE): a spec or a
 * package from elsewhere on the runner is not what the repository reviewed.
 * Checked once for every action, before its body runs.
 */
import { existsSync, realpathSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import type { ActionContract } from "./contract.js";
import { InputError, type InputSource } from "./inputs.js";

/** The path inputs confined to the workspace, whichever action declares them. */
export const WORKSPACE_PATH_INPUTS = ["spec", "zip-file"] as const;

/** The real path (symlinks followed) of `path`, or of its nearest existing parent joined with the rest. */
function realPathOf(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = resolve(path, "..");
  if (parent === path) return path;
  return resolve(realPathOf(parent), relative(parent, path));
}

/** Whether `path` lies inside `root` (or is it). */
function inside(root: string, path: string): boolean {
  const rest = relative(root, path);
  return rest === "" || (!rest.startsWith("..") && !isAbsolute(rest));
}

/**
 * Refuses any declared path input that resolves outside `workspace`, naming the
 * input, the path it resolves to and the workspace. Empty inputs fall back to
 * the contract's default, as the reader does.
 */
export function checkWorkspacePaths<I extends string>(
  contract: ActionContract<I, string>,
  source: InputSource,
  workspace: string,
): void {
  const root = realPathOf(resolve(workspace));
  for (const name of WORKSPACE_PATH_INPUTS) {
    const declared = contract.inputs[name as I];
    if (!declared) continue;
    const value = source(name) || declared.default || "";
    if (value === "") continue;
    const absolute = resolve(workspace, value);
    const real = realPathOf(absolute);
    if (!inside(root, real)) {
      throw new InputError(
        name,
        `${value} resolves to ${real}, outside the workspace ${root} (GITHUB_WORKSPACE); give a path inside the checkout`,
      );
    }
  }
}
