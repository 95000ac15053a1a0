/**
 * The Node.js runtimes a test can start: the one the tests run on (.nvmrc's
 * major, installed by `npm ci`) and, when the machine has one, an older system
 * Node to check that the bundled actions still start there.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { delimiter, join } from "node:path";
import { repoRoot } from "./run-action.js";

/** The major version `.nvmrc` names. */
export function nvmrcMajor(): number {
  return Number(readFileSync(join(repoRoot, ".nvmrc"), "utf8").trim().replace(/^v/, "").split(".")[0]);
}

/** The version a Node binary reports (without the v), or undefined when it cannot be run. */
export function versionOf(binary: string): string | undefined {
  const result = spawnSync(binary, ["-p", "process.versions.node"], { encoding: "utf8", timeout: 20_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * A Node of major `major` on PATH or in the usual system places that is not a
 * package installed into node_modules; undefined when the machine has none.
 */
export function systemNode(major: number): { path: string; version: string } | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/bin", "/usr/bin"];
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, "node");
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (seen.has(real) || real.includes("/node_modules/")) continue;
    seen.add(real);
    const version = versionOf(real);
    if (version && Number(version.split(".")[0]) === major) return { path: real, version };
  }
  return undefined;
}
