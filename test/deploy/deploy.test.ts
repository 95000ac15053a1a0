import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ActionRefusal } from "../../src/action/run.js";
import { storedZip } from "../../src/demo/zip.js";
import type { TargetSpec } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import {
  type DeployInputs,
  type DeployOutput,
  deployerFor,
  resolveEcsImage,
  resolveLambdaArtifact,
  runDeploy,
} from "../../src/ops/deploy.js";
import { codeSha256 } from "../../src/ops/deploy-lambda.js";
import { NOW, referenceMigration, statusAtFull } from "../fixtures/deploy/migration.js";
import { DeployWorld, taskDefinitionArn } from "../fixtures/deploy/world.js";

function workspace(status?: MigrationStatus): string {
  const dir = mkdtempSync(join(tmpdir(), "cutover-deploy-"));
  writeFileSync(
    join(dir, "migrations.json"),
    JSON.stringify({ version: 1, migrations: [referenceMigration()] }),
  );
  if (status) {
    mkdirSync(join(dir, "status"));
    writeFileSync(join(dir, "status", "orders-api.json"), JSON.stringify(status));
  }
  mkdirSync(join(dir, "dist"));
  writeFileSync(
    join(dir, "dist", "orders.zip"),
    storedZip({ "index.mjs": "export const handler = async () => ({ statusCode: 200 });" }),
  );
  writeFileSync(join(dir, "dist", "empty.zip"), "");
  writeFileSync(join(dir, "dist", "orders.tar"), "not a zip at all");
  return dir;
}

describe("the zip fixture", () => {
  it("is a zip archive that unzip can read", () => {
    const dir = workspace();
    expect(execFileSync("unzip", ["-l", join(dir, "dist", "orders.zip")], { encoding: "utf8" })).toContain(
      "index.mjs",
    );
  });
});

describe("resolveLambdaArtifact", () => {
  const dir = workspace();

  it("reads a zip from the workspace", async () => {
    const artifact = await resolveLambdaArtifact({ zipFile: "dist/orders.zip" }, dir);
    expect(artifact).toMatchObject({ kind: "zip", path: "dist/orders.zip" });
    expect(artifact.kind === "zip" && artifact.bytes.byteLength).toBeGreaterThan(50);
  });

  it("refuses a zip that is missing, empty or not a zip, naming the input", async () => {
    await expect(resolveLambdaArtifact({ zipFile: "dist/missing.zip" }, dir)).rejects.toThrow(
      `input "zip-file": dist/missing.zip does not exist in the workspace ${dir}`,
    );
    await expect(resolveLambdaArtifact({ zipFile: "dist/empty.zip" }, dir)).rejects.toThrow(
      'input "zip-file": dist/empty.zip is empty (0 bytes)',
    );
    await expect(resolveLambdaArtifact({ zipFile: "dist/orders.tar" }, dir)).rejects.toThrow(
      'input "zip-file": dist/orders.tar is not a zip archive',
    );
    await expect(resolveLambdaArtifact({ zipFile: "dist" }, dir)).rejects.toThrow(
      'input "zip-file": dist is not a file',
    );
  });

  it("refuses no artifact and more than one, saying what would be accepted", async () => {
    await expect(resolveLambdaArtifact({}, dir)).rejects.toThrow(
      'no artifact to deploy: give input "zip-file" (a zip in the workspace), "s3-bucket" and "s3-key", or "image-uri"',
    );
    await expect(
      resolveLambdaArtifact({ zipFile: "dist/orders.zip", imageUri: "repo/x:1" }, dir),
    ).rejects.toThrow("give one artifact, not zip-file and image-uri");
  });

  it("needs both halves of an S3 artifact", async () => {
    await expect(resolveLambdaArtifact({ s3Bucket: "artifacts" }, dir)).rejects.toThrow(
      'input "s3-key" is empty; an S3 artifact needs both s3-bucket and s3-key',
    );
    expect(await resolveLambdaArtifact({ s3Bucket: "artifacts", s3Key: "a.zip" }, dir)).toEqual({
      kind: "s3",
      bucket: "artifacts",
      key: "a.zip",
    });
  });

  it("refuses a container name for Lambda", async () => {
    await expect(resolveLambdaArtifact({ imageUri: "repo/x:1", container: "api" }, dir)).rejects.toThrow(
      'input "container" applies to ECS services, not to Lambda',
    );
  });
});

describe("resolveEcsImage", () => {
  it("takes the image and refuses Lambda packages or nothing", () => {
    expect(resolveEcsImage({ imageUri: "repo/orders:v2" })).toBe("repo/orders:v2");
    expect(() => resolveEcsImage({ zipFile: "dist/orders.zip" })).toThrow(
      'an ECS service deploys an image: give input "image-uri"',
    );
    expect(() => resolveEcsImage({})).toThrow('no artifact to deploy: give input "image-uri"');
  });
});

describe("deployerFor", () => {
  it("refuses a kind it does not know, naming the known ones", () => {
    expect(() => deployerFor({ kind: "vm" } as unknown as TargetSpec, "newSide")).toThrow(
      'newSide.kind "vm" cannot be deployed to; known kinds: lambda, ecs',
    );
  });
});

describe("runDeploy", () => {
  function inputs(extra: Partial<DeployInputs> = {}): DeployInputs {
    return {
      migration: "orders-api",
      spec: "migrations.json",
      side: "new",
      artifact: { zipFile: "dist/orders.zip" },
      aliasSteps: [],
      aliasStepIntervalSeconds: 0,
      updateTimeoutSeconds: 10,
      stableTimeoutSeconds: 2,
      ...extra,
    };
  }

  function environment(world: DeployWorld, dir: string) {
    const outputs = new Map<DeployOutput, unknown>();
    return {
      outputs,
      env: {
        run: { correlationId: "42-1", workspace: dir },
        log: { info: () => {}, warn: () => {} },
        setOutput: (name: DeployOutput, value: unknown) => outputs.set(name, value),
        clients: world.clients,
        now: () => NOW,
        stablePollSeconds: { min: 0.01, max: 0.05 },
      },
    };
  }

  it("deploys the new side and records the checkpoint a rollback restores", async () => {
    const world = new DeployWorld();
    const dir = workspace(statusAtFull());
    const { outputs, env } = environment(world, dir);
    const report = await runDeploy(inputs(), env);
    expect(outputs.get("target")).toBe("Lambda orders-api:live");
    expect(outputs.get("previous-version")).toBe("4");
    expect(outputs.get("version")).toBe("5");
    expect(outputs.get("no-op")).toBe(false);
    expect(outputs.get("checkpoint")).toMatchObject({
      phase: "full",
      takenAt: NOW.toISOString(),
      weights: { old: 0, new: 100 },
      lambdaVersion: "4",
      ecsDesiredCount: 3,
      ecsTaskDefinition: taskDefinitionArn(7),
    });
    expect(world.versions.get("5")).toBe(
      codeSha256(storedZip({ "index.mjs": "export const handler = async () => ({ statusCode: 200 });" })),
    );
    expect(report.headline).toBe("Lambda orders-api:live: version 4 → version 5.");
    expect(report.tables?.[0]?.rows[1]?.slice(0, 4)).toEqual([
      "Lambda orders-api:live",
      expect.stringContaining("zip dist/orders.zip"),
      "4",
      "5",
    ]);
    expect(report.tables?.[1]?.caption).toBe("Steps");
  });

  it("deploys the old side's image with side old", async () => {
    const world = new DeployWorld();
    const { outputs, env } = environment(world, workspace());
    await runDeploy(inputs({ side: "old", artifact: { imageUri: "repo/orders:v2" } }), env);
    expect(outputs.get("previous-version")).toBe(taskDefinitionArn(7));
    expect(outputs.get("version")).toBe(taskDefinitionArn(8));
    expect(outputs.get("checkpoint")).toMatchObject({
      ecsTaskDefinition: taskDefinitionArn(7),
      lambdaVersion: "4",
    });
  });

  it("refuses alias steps for an ECS service before changing anything", async () => {
    const world = new DeployWorld();
    const { env } = environment(world, workspace());
    await expect(
      runDeploy(
        inputs({ side: "old", artifact: { imageUri: "repo/orders:v2" }, aliasSteps: [10, 100] }),
        env,
      ),
    ).rejects.toThrow('input "alias-steps" applies to Lambda aliases, not to ECS services');
    expect(world.mutations()).toEqual([]);
  });

  it("fails with a report that says the side stayed where it was", async () => {
    const world = new DeployWorld();
    const { env } = environment(world, workspace());
    const error = await runDeploy(inputs({ artifact: { zipFile: "dist/missing.zip" } }), env).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ActionRefusal);
    expect((error as ActionRefusal).report?.title).toBe("deploy: orders-api (new side) refused");
    expect((error as ActionRefusal).report?.next?.[0]).toContain(
      "left on (or put back to) its previous version",
    );
    expect(world.mutations()).toEqual([]);
  });
});
