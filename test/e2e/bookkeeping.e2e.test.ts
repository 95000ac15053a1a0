// Bookkeeping validated on read, through the bundled actions on the sandbox: a
// status naming a phase the spec lacks, and path inputs outside the workspace.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListResourceRecordSetsCommand, Route53Client } from "@aws-sdk/client-route-53";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { deploySeed, e2eWorkspace, MIGRATION, recordStatus } from "../fixtures/deploy/e2e.js";
import { runBundledAction } from "../support/run-action.js";

let sandbox: Sandbox;
let route53: Route53Client;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: deploySeed() });
  route53 = new Route53Client({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY!,
    },
  });
});
afterAll(async () => {
  await sandbox?.close();
});

async function weights(): Promise<Record<string, number | undefined>> {
  const output = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: "Z0EXAMPLE00001" }));
  return Object.fromEntries(
    (output.ResourceRecordSets ?? [])
      .filter((record) => record.SetIdentifier)
      .map((record) => [record.SetIdentifier!, record.Weight]),
  );
}

describe("bookkeeping validated on read (bundled actions on the sandbox)", () => {
  it("shift-traffic refuses a status whose phase the spec does not have, and moves nothing", async () => {
    const dir = e2eWorkspace();
    await recordStatus(dir, (status) => {
      status.phase = "canary-99";
      status.state = "passed";
    });
    const before = await weights();
    const run = await runBundledAction("shift-traffic", {
      inputs: { migration: MIGRATION, weight: "10", "insync-timeout": "20s" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/\$\.phase is "canary-99", which is not a phase of "orders-api" in the spec/);
    expect(await weights()).toEqual(before);
  });

  it("refuses a spec or a zip file outside the workspace, naming the input, the path and the workspace", async () => {
    const dir = e2eWorkspace();
    const elsewhere = mkdtempSync(join(tmpdir(), "cutover-elsewhere-"));
    writeFileSync(join(elsewhere, "migrations.json"), "{}");
    const spec = await runBundledAction("shift-traffic", {
      inputs: { migration: MIGRATION, weight: "10", spec: join(elsewhere, "migrations.json") },
      env: sandbox.env,
      workspace: dir,
    });
    expect(spec.exitCode).toBe(1);
    expect(spec.stdout).toContain(`input "spec": ${join(elsewhere, "migrations.json")} resolves to`);
    expect(spec.stdout).toContain(`outside the workspace`);
    expect(spec.stdout).toContain(dir.split("/").at(-1)!);
    const zip = await runBundledAction("deploy", {
      inputs: { migration: MIGRATION, "zip-file": "../elsewhere/orders.zip" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(zip.exitCode).toBe(1);
    expect(zip.stdout).toMatch(
      /input "zip-file": \.\.\/elsewhere\/orders\.zip resolves to .*, outside the workspace/,
    );
  });
});
