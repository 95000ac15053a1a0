// Fails when rebuilding the actions would change a committed dist/ file, so the
// code that runs in workflows is always the code in src/.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildActions, listActions } from "./build-actions.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const scratch = mkdtempSync(join(tmpdir(), "cutover-dist-"));
try {
  const names = listActions();
  const built = await buildActions(names, scratch);
  const stale = [];
  for (const name of names) {
    const committed = join(root, "actions", name, "dist", "index.js");
    if (!existsSync(committed)) {
      stale.push(`actions/${name}/dist/index.js is missing`);
    } else if (!readFileSync(committed).equals(readFileSync(built[name]))) {
      stale.push(`actions/${name}/dist/index.js differs from a fresh build`);
    }
  }
  if (stale.length > 0) {
    console.error(stale.join("\n"));
    console.error("Run `npm run build` and commit actions/*/dist.");
    process.exit(1);
  }
  console.log(`dist is current for ${names.length} actions`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
