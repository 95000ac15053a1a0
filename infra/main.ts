/**
 * Synthesizes every environment's stack into `infra/cdktn.out` (or where the
 * CDK Terrain CLI asks, through CDKTF_OUTDIR). Run with `npm run synth`.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { App } from "cdktn";
import { buildCutoverApp } from "./app.js";

const infraDir = dirname(fileURLToPath(import.meta.url));
const started = performance.now();
const outdir = process.env["CDKTF_OUTDIR"] ?? join(infraDir, "cdktn.out");
const configFile = process.env["CUTOVER_INFRA_CONFIG"] ?? join(infraDir, "config.json");

interface ManifestAnnotation {
  level: string;
  message: string;
  constructPath: string;
}

try {
  const app = new App({ outdir, stackTraces: false });
  const stacks = buildCutoverApp(app, configFile);
  app.synth();
  const elapsed = Math.round(performance.now() - started);
  console.log(
    `synthesized ${stacks.size} stack(s) [${[...stacks.keys()].join(", ")}] into ${relative(process.cwd(), outdir) || "."} in ${elapsed} ms`,
  );
  printAnnotations(join(outdir, "manifest.json"));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}

/** The CLI prints these itself; a plain `npm run synth` should not hide them either. */
function printAnnotations(manifestFile: string): void {
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
    stacks: Record<string, { annotations: ManifestAnnotation[] }>;
  };
  for (const [name, stack] of Object.entries(manifest.stacks)) {
    for (const annotation of stack.annotations) {
      const level = annotation.level.replace("@cdktf/", "");
      console.warn(`[${level}] ${name}: ${annotation.message}`);
    }
  }
}
