// Status format 2 keeps each checkpoint's router state as an opaque snapshot
// tagged with its kind. Files of format 1 (the demo's, as it wrote them before
// the change: checkpoints with Route 53 `records`) are read, upgraded, and a
// rollback acts on them exactly as on a current file.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildCheckpointDocument,
  parseCheckpointDocument,
  statusOfDocument,
} from "../../src/core/aws-checkpoint.js";
import { validateStatusText } from "../../src/core/validate.js";
import { STATUS_VERSION, upgradeStatus } from "../../src/model/status.js";
import { runRollback } from "../../src/ops/rollback.js";
import { readStatus } from "../../src/spec/files.js";
import { NOW, RecordingLog, referenceMigration } from "../fixtures/traffic/migration.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { TrafficWorld, weightedPair } from "../fixtures/traffic/world.js";

/** The demo's status of orders-api while canary-50 bakes, written by status format 1. */
const DEMO_V1_TEXT = readFileSync(
  join(import.meta.dirname, "../fixtures/status/demo-v1-canary-50.json"),
  "utf8",
);
const demoV1 = JSON.parse(DEMO_V1_TEXT) as {
  version: number;
  checkpoints: Array<{ records?: unknown[]; [field: string]: unknown }>;
  [field: string]: unknown;
};

describe("status format 1 → 2", () => {
  it("the fixture is what format 1 wrote: version 1 and Route 53 records on every checkpoint", () => {
    expect(demoV1.version).toBe(1);
    expect(demoV1.checkpoints).toHaveLength(3);
    for (const checkpoint of demoV1.checkpoints) expect(checkpoint.records).toHaveLength(2);
  });

  it("reads the demo's file, upgraded: each checkpoint's records become the route53 snapshot, nothing else changes", () => {
    const result = validateStatusText(DEMO_V1_TEXT, "status/orders-api.json", "orders-api");
    expect(result.errors).toEqual([]);
    if (!result.ok) return;
    const status = result.value;
    expect(status.version).toBe(STATUS_VERSION);
    expect(STATUS_VERSION).toBe(2);
    status.checkpoints.forEach((checkpoint, index) => {
      const { records, ...rest } = demoV1.checkpoints[index]!;
      expect(checkpoint).toEqual({ ...rest, router: { kind: "route53", records } });
      expect(checkpoint).not.toHaveProperty("records");
    });
    const { version: _old, checkpoints: _before, ...unchanged } = demoV1;
    const { version: _new, checkpoints: _after, ...kept } = status;
    expect(kept).toEqual(unchanged);
  });

  it("leaves a current file and what it does not understand as they are", () => {
    const current = upgradeStatus(JSON.parse(DEMO_V1_TEXT));
    expect(upgradeStatus(current)).toBe(current);
    expect(upgradeStatus("text")).toBe("text");
    const future = { ...demoV1, version: 3 };
    expect(upgradeStatus(future)).toBe(future);
    // Validation still explains a version it does not read.
    const refused = validateStatusText(JSON.stringify(future), "status/orders-api.json");
    expect(refused.ok).toBe(false);
    expect(refused.errors.map((error) => error.path)).toContain("version");
  });

  it("rolls back from the demo's version-1 file, restoring the checkpoint's exact record weights", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    const workspace = new TrafficWorkspace(referenceMigration());
    workspace.writeStatus(demoV1 as never);
    const outputs: Record<string, unknown> = {};
    const report = await runRollback(
      {
        migration: "orders-api",
        reason: "error rate 3.1 % > 2 %",
        spec: "migrations.json",
        insyncTimeoutSeconds: 5,
        stableTimeoutSeconds: 5,
      },
      {
        run: { correlationId: "7-1", workspace: workspace.dir },
        log: new RecordingLog(),
        setOutput: (name, value) => {
          outputs[name] = value;
        },
        clients: world.clients,
        now: () => NOW,
      },
    );
    expect(outputs.weights).toEqual({ old: 90, new: 10 });
    expect(world.weightOf("ecs-fargate")).toBe(90);
    expect(world.weightOf("lambda")).toBe(10);
    // The file validated in full after the rollback: nothing to report about it.
    expect(report.found?.join("\n")).not.toContain("Found after rolling back");
    // What the rollback reports as the checkpoint it replaced is in the current format.
    expect(outputs.checkpoint).toMatchObject({ router: { kind: "route53" } });
    // The file on disk is read through the same upgrade by everything else.
    const read = await readStatus(workspace.dir, "orders-api", NOW);
    expect(read.version).toBe(2);
    expect(read.checkpoints.at(-1)?.router?.kind).toBe("route53");
  });
});

describe("AWS-side checkpoint documents", () => {
  it("carry the status's snapshot as it is, and documents written before format 2 read the same", () => {
    const result = validateStatusText(DEMO_V1_TEXT, "status/orders-api.json", "orders-api");
    if (!result.ok) throw new Error("fixture did not validate");
    const migration = referenceMigration();
    const document = buildCheckpointDocument({
      migration,
      status: result.value,
      writer: "test",
      now: NOW,
    });
    expect(document.checkpoints.at(-1)?.router).toEqual(result.value.checkpoints.at(-1)?.router);
    // Before format 2 the document already held `router: { kind: "route53", records }` per entry: the same text.
    const written = JSON.stringify(document);
    const read = parseCheckpointDocument(written, "s3://b/checkpoints/orders-api.json", "orders-api");
    const status = statusOfDocument(read, NOW);
    expect(status.version).toBe(2);
    expect(status.checkpoints).toEqual(result.value.checkpoints);
  });

  it("upgrades an entry that still holds records beside its fields", () => {
    const result = validateStatusText(DEMO_V1_TEXT, "status/orders-api.json", "orders-api");
    if (!result.ok) throw new Error("fixture did not validate");
    const document = buildCheckpointDocument({
      migration: referenceMigration(),
      status: result.value,
      writer: "test",
      now: NOW,
    });
    const legacy = {
      ...document,
      checkpoints: demoV1.checkpoints,
    };
    const read = parseCheckpointDocument(JSON.stringify(legacy), "s3://b/c.json", "orders-api");
    expect(statusOfDocument(read, NOW).checkpoints).toEqual(result.value.checkpoints);
  });
});
