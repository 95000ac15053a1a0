// Bundles every action under actions/<name>/src/index.ts into actions/<name>/dist/index.js:
// ESM, everything bundled, runnable by the runner's node24 (and by Node 20 here).
// `--outdir <dir>` writes <dir>/<name>/index.js instead, which check-dist uses.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Actions are the folders of actions/ that have an entry point. */
export function listActions() {
  const dir = join(root, "actions");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "src", "index.ts")))
    .map((entry) => entry.name)
    .sort();
}

/** Builds the named actions; returns the output file of each. */
export async function buildActions(names, outRoot) {
  const outputs = {};
  for (const name of names) {
    const outfile = outRoot
      ? join(outRoot, name, "index.js")
      : join(root, "actions", name, "dist", "index.js");
    await build({
      entryPoints: [join(root, "actions", name, "src", "index.ts")],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      // Some bundled CommonJS dependencies call require() for Node built-ins.
      banner: {
        js: "import { createRequire as __cutoverCreateRequire } from 'node:module'; const require = __cutoverCreateRequire(import.meta.url);",
      },
      legalComments: "none",
      logLevel: "warning",
      absWorkingDir: root,
    });
    outputs[name] = outfile;
  }
  return outputs;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outIndex = process.argv.indexOf("--outdir");
  const outRoot = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : undefined;
  const onlyIndex = process.argv.indexOf("--only");
  const only = onlyIndex > 0 ? process.argv[onlyIndex + 1].split(",") : undefined;
  const names = listActions().filter((name) => !only || only.includes(name));
  const started = Date.now();
  await buildActions(names, outRoot);
  console.log(`built ${names.length} actions (${names.join(", ")}) in ${Date.now() - started} ms`);
}
