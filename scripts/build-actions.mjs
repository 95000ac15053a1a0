// Bundles every action under actions/<name>/src/index.ts into actions/<name>/dist/index.js,
// and the guardian Lambda function (guardian/src/index.ts) into guardian/dist/index.mjs:
// ESM, everything bundled, runnable by node24 (and by Node 20 here). The guardian is also packaged as
// guardian/dist/guardian.zip, the code package infra deploys (not committed: a build writes it).
// `--outdir <dir>` writes <dir>/<path> instead, which check-dist uses.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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

/** Every bundle: its name for --only, its entry and its committed output, relative to the root. */
export function listBundles() {
  return [
    ...listActions().map((name) => ({
      name,
      entry: join("actions", name, "src", "index.ts"),
      output: join("actions", name, "dist", "index.js"),
    })),
    {
      name: "guardian",
      entry: join("guardian", "src", "index.ts"),
      output: join("guardian", "dist", "index.mjs"),
    },
  ];
}

/** Builds the named bundles; returns the output file of each. */
export async function buildBundles(names, outRoot) {
  const outputs = {};
  for (const bundle of listBundles().filter((candidate) => names.includes(candidate.name))) {
    const outfile = join(outRoot ?? root, bundle.output);
    await build({
      entryPoints: [join(root, bundle.entry)],
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
    outputs[bundle.name] = outfile;
    if (bundle.name === "guardian") await packageGuardian(outfile, join(dirname(outfile), "guardian.zip"));
  }
  return outputs;
}

/** Writes the Lambda code package of the guardian: its bundle as index.mjs, with the zip writer the demo uses. */
async function packageGuardian(bundleFile, zipFile) {
  const writer = await build({
    entryPoints: [join(root, "src", "demo", "zip.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    logLevel: "warning",
  });
  const source = Buffer.from(writer.outputFiles[0].text).toString("base64");
  const { storedZip } = await import(`data:text/javascript;base64,${source}`);
  writeFileSync(zipFile, storedZip({ "index.mjs": readFileSync(bundleFile, "utf8") }));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outIndex = process.argv.indexOf("--outdir");
  const outRoot = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : undefined;
  const onlyIndex = process.argv.indexOf("--only");
  const only = onlyIndex > 0 ? process.argv[onlyIndex + 1].split(",") : undefined;
  const names = listBundles()
    .map((bundle) => bundle.name)
    .filter((name) => !only || only.includes(name));
  const started = Date.now();
  await buildBundles(names, outRoot);
  console.log(`built ${names.length} bundles (${names.join(", ")}) in ${Date.now() - started} ms`);
}
