// Fails when rebuilding would change a committed bundle (the actions' dist/ and
// the guardian's), so the code that runs in workflows and in AWS is always the code in src/.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBundles, listBundles } from "./build-actions.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const scratch = mkdtempSync(join(tmpdir(), "cutover-dist-"));
try {
  const bundles = listBundles();
  const built = await buildBundles(
    bundles.map((bundle) => bundle.name),
    scratch,
  );
  const stale = [];
  for (const bundle of bundles) {
    const committed = join(root, bundle.output);
    if (!existsSync(committed)) {
      stale.push(`${bundle.output} is missing`);
    } else if (!readFileSync(committed).equals(readFileSync(built[bundle.name]))) {
      stale.push(`${bundle.output} differs from a fresh build`);
    }
  }
  if (stale.length > 0) {
    console.error(stale.join("\n"));
    console.error("Run `npm run build` and commit the bundles.");
    process.exit(1);
  }
  console.log(`dist is current for ${bundles.length} bundles (the actions and the guardian)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
