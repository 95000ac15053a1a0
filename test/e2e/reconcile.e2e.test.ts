// The bundled reconcile action against the sandbox, with the status on a local
// git remote: what it sees of the old side's ECS service (scaled to zero by hand,
// or by a decommission scale-down whose run died before recording it).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { ChangeResourceRecordSetsCommand, Route53Client } from "@aws-sdk/client-route-53";
import { afterEach, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import type { MigrationsFile } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { formatStatus } from "../../src/spec/files.js";
import { deploySeed } from "../fixtures/deploy/e2e.js";
import { FIXTURE_DIR, statusAtFull } from "../fixtures/deploy/migration.js";
import { createLocalRemote } from "../support/git-remote.js";
import { runBundledAction } from "../support/run-action.js";

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) await sandbox.close();
});

function clientConfig(sandbox: Sandbox) {
  return {
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY!,
    },
  };
}

/** The sandbox with the weighted pair at `old`/`new` and the old service at `desiredCount`, as a person left it. */
async function world(weights: { old: number; new: number }, desiredCount: number): Promise<Sandbox> {
  const sandbox = await startSandbox({ seed: deploySeed() });
  sandboxes.push(sandbox);
  const route53 = new Route53Client(clientConfig(sandbox));
  const record = (setIdentifier: string, weight: number, value: string) => ({
    Action: "UPSERT" as const,
    ResourceRecordSet: {
      Name: "api.example.com",
      Type: "A" as const,
      TTL: 1,
      SetIdentifier: setIdentifier,
      Weight: weight,
      ResourceRecords: [{ Value: value }],
    },
  });
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: "Z0EXAMPLE00001",
      ChangeBatch: {
        Changes: [
          record("ecs-fargate", weights.old, "192.0.2.1"),
          record("lambda", weights.new, "192.0.2.2"),
        ],
      },
    }),
  );
  const ecs = new ECSClient(clientConfig(sandbox));
  await ecs.send(new UpdateServiceCommand({ cluster: "prod", service: "orders-api", desiredCount }));
  return sandbox;
}

function repository(phase: string, status: MigrationStatus) {
  const spec = JSON.parse(readFileSync(join(FIXTURE_DIR, "migrations.json"), "utf8")) as MigrationsFile;
  spec.migrations[0]!.phase = phase;
  return createLocalRemote({
    "migrations.json": `${JSON.stringify(spec, null, 2)}\n`,
    "status/orders-api.json": formatStatus(status),
  });
}

describe("reconcile (bundled) on the sandbox", () => {
  it("fails on an old side scaled to zero by hand while the status sends it 90 %", async () => {
    const sandbox = await world({ old: 90, new: 10 }, 0);
    const remote = repository(
      "canary-10",
      statusAtFull({
        phase: "canary-10",
        state: "baking",
        weights: { old: 90, new: 10 },
        checkpoints: [
          {
            phase: "staging",
            takenAt: "2026-02-20T00:00:00.000Z",
            weights: { old: 100, new: 0 },
            ecsDesiredCount: 2,
          },
        ],
      }),
    );
    const run = await runBundledAction("reconcile", {
      inputs: { migration: "orders-api", "on-drift": "fail", token: "ghs_test" },
      env: sandbox.env,
      workspace: remote.clone(),
    });
    expect(run.exitCode, run.stdout).toBe(1);
    expect(run.outputs.outcome).toBe("drift");
    expect(run.outputs.drift).toMatch(/scaled to zero while the status sends it 90 % of traffic/);
  }, 60_000);

  it("records the hold of a decommission scale-down that was applied but never recorded", async () => {
    const sandbox = await world({ old: 0, new: 100 }, 0);
    const remote = repository("decommission", statusAtFull());
    const run = await runBundledAction("reconcile", {
      inputs: { migration: "orders-api", "on-drift": "fail", token: "ghs_test" },
      env: sandbox.env,
      workspace: remote.clone(),
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs.outcome).toBe("recorded");
    const status = JSON.parse(remote.show("status/orders-api.json")!) as MigrationStatus;
    expect(status).toMatchObject({
      phase: "decommission",
      state: "decommissioning",
      decommission: { stage: "scaled-down", desiredCountBefore: 3 },
    });
  }, 60_000);

  it("refuses a status on the state branch that does not match the status schema, and commits nothing on it", async () => {
    const sandbox = await world({ old: 100, new: 0 }, 2);
    const invalid = statusAtFull({ phase: "staging", weights: { old: 300, new: -200 } });
    const remote = repository("staging", invalid);
    const tip = remote.tip("main");
    const run = await runBundledAction("reconcile", {
      inputs: { migration: "orders-api", "on-drift": "fail", token: "ghs_test" },
      env: sandbox.env,
      workspace: remote.clone(),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /status\/orders-api\.json at [0-9a-f]{12} on .* does not match status\.schema\.json/,
    );
    expect(run.stdout).toMatch(/weights/);
    expect(remote.tip("main")).toBe(tip);
  }, 60_000);

  it("records a rollback to all-old that was killed before its status commit, not as drift", async () => {
    const sandbox = await world({ old: 100, new: 0 }, 2);
    const remote = repository(
      "canary-50",
      statusAtFull({
        phase: "canary-50",
        state: "baking",
        weights: { old: 50, new: 50 },
        checkpoints: [
          {
            phase: "canary-10",
            takenAt: "2026-02-20T00:00:00.000Z",
            weights: { old: 90, new: 10 },
            ecsDesiredCount: 2,
          },
        ],
      }),
    );
    const run = await runBundledAction("reconcile", {
      inputs: { migration: "orders-api", "on-drift": "fail", token: "ghs_test" },
      env: sandbox.env,
      workspace: remote.clone(),
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs.outcome).toBe("recorded");
    expect(run.outputs.drift).toBe("");
    const status = JSON.parse(remote.show("status/orders-api.json")!) as MigrationStatus;
    expect(status).toMatchObject({ state: "rolled-back", weights: { old: 100, new: 0 } });
  }, 60_000);
});
