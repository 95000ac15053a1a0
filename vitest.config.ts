import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// The tests run on the Node major .nvmrc names, the runtime GitHub gives the actions (`runs.using: node24`).
// `npm test` and `npx vitest` both start vitest on node_modules/.bin/node (installed by `npm ci`); started any
// other way on another Node, stop here rather than report results for a runtime nothing ships on.
const wanted = readFileSync(new URL("./.nvmrc", import.meta.url), "utf8")
  .trim()
  .replace(/^v/, "")
  .split(".")[0];
const running = process.versions.node.split(".")[0];
if (running !== wanted) {
  throw new Error(
    `the tests run on Node ${wanted} (.nvmrc) and this is Node ${process.versions.node} (${process.execPath}): ` +
      "run them with `npm test` or `npx vitest run <path>`, which use the Node 24 that `npm ci` installs, " +
      "or switch to Node 24 (`nvm use`)",
  );
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "infra/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: end-to-end files start servers and child processes, so keep the pool small.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
