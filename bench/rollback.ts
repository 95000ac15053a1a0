// How fast a rollback is on the sandbox: runs the bundled rollback action as
// the runner would, N times, from 50 % back to the 10 % checkpoint, and prints
// the time from the action's process start to the change submitted and to
// INSYNC (median, p95), plus the whole process's wall time.
//
//   npx tsx bench/rollback.ts            # 10 runs
//   BENCH_RUNS=30 npx tsx bench/rollback.ts
//
// Build the action first: npm run build -- --only rollback
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  waitUntilResourceRecordSetsChanged,
} from "@aws-sdk/client-route-53";
import { startSandbox } from "../sandbox/index.js";
import type { Checkpoint, MigrationStatus } from "../src/model/status.js";
import { trafficSeed } from "../test/fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../test/fixtures/traffic/workspace.js";
import { repoRoot, runBundledAction } from "../test/support/run-action.js";

const RUNS = Math.min(Math.max(Number(process.env.BENCH_RUNS ?? 10) || 10, 1), 50);
const RUN_TIMEOUT_MS = 30_000;
const ZONE = "Z0EXAMPLE00001";

interface Sample {
  submittedMs: number;
  insyncMs: number;
  wallMs: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function checkpointAt(phase: string, newPercent: number): Checkpoint {
  return {
    phase,
    takenAt: new Date().toISOString(),
    weights: { old: 100 - newPercent, new: newPercent },
    router: {
      kind: "route53",
      records: [
        {
          name: "api.example.com.",
          type: "A",
          setIdentifier: "ecs-fargate",
          weight: 100 - newPercent,
          ttl: 1,
        },
        { name: "api.example.com.", type: "A", setIdentifier: "lambda", weight: newPercent, ttl: 1 },
      ],
    },
  };
}

/** Puts both records at 50 % (where the rollback starts from) and waits until INSYNC. */
async function setHalfAndHalf(route53: Route53Client): Promise<void> {
  const listed = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      StartRecordName: "api.example.com",
      StartRecordType: "A",
    }),
  );
  const records = (listed.ResourceRecordSets ?? []).filter((record) =>
    record.Name?.startsWith("api.example.com"),
  );
  const changed = await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: {
        Changes: records.map((record) => ({
          Action: "UPSERT",
          ResourceRecordSet: { ...record, Weight: 50 },
        })),
      },
    }),
  );
  await waitUntilResourceRecordSetsChanged(
    { client: route53, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.5 },
    { Id: changed.ChangeInfo!.Id! },
  );
}

async function main(): Promise<void> {
  if (!existsSync(join(repoRoot, "actions", "rollback", "dist", "index.js"))) {
    console.error(
      "actions/rollback/dist/index.js is missing: node scripts/build-actions.mjs --only rollback",
    );
    process.exit(1);
  }
  const seed = trafficSeed();
  const propagationMs = seed.route53?.propagationMs;
  const sandbox = await startSandbox({ seed });
  const route53 = new Route53Client({
    endpoint: sandbox.env.AWS_ENDPOINT_URL,
    region: "us-east-1",
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID ?? "x",
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY ?? "x",
    },
  });
  const samples: Sample[] = [];
  try {
    const workspace = new TrafficWorkspace();
    for (let run = 1; run <= RUNS; run++) {
      await setHalfAndHalf(route53);
      const status: MigrationStatus = {
        version: 2,
        migration: "orders-api",
        phase: "canary-50",
        state: "baking",
        weights: { old: 50, new: 50 },
        checkpoints: [checkpointAt("canary-10", 10)],
        timestamps: { updatedAt: new Date().toISOString() },
        history: [],
      };
      workspace.writeStatus(status);
      const result = await runBundledAction("rollback", {
        inputs: { migration: "orders-api", reason: "benchmark" },
        env: sandbox.env,
        workspace: workspace.dir,
        timeoutMs: RUN_TIMEOUT_MS,
      });
      if (result.exitCode !== 0 || !result.outputs.timings) {
        throw new Error(`run ${run} failed (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
      }
      const timings = JSON.parse(result.outputs.timings) as { changeSubmittedMs: number; insyncMs: number };
      samples.push({
        submittedMs: timings.changeSubmittedMs,
        insyncMs: timings.insyncMs,
        wallMs: result.elapsedMs,
      });
      process.stdout.write(
        `run ${run}/${RUNS}: submitted ${timings.changeSubmittedMs} ms, INSYNC ${timings.insyncMs} ms\n`,
      );
    }
  } finally {
    route53.destroy();
    await sandbox.close();
  }
  const row = (label: string, values: number[]) =>
    `${label.padEnd(42)} ${String(percentile(values, 50)).padStart(7)} ${String(percentile(values, 95)).padStart(7)} ${String(Math.min(...values)).padStart(7)} ${String(Math.max(...values)).padStart(7)}`;
  console.log("");
  console.log(
    `rollback on the sandbox: ${RUNS} runs, Route 53 propagation ${propagationMs} ms, load average ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(
    `${"(ms)".padEnd(42)} ${"median".padStart(7)} ${"p95".padStart(7)} ${"min".padStart(7)} ${"max".padStart(7)}`,
  );
  console.log(
    row(
      "process start → change submitted",
      samples.map((sample) => sample.submittedMs),
    ),
  );
  console.log(
    row(
      "process start → INSYNC",
      samples.map((sample) => sample.insyncMs),
    ),
  );
  console.log(
    row(
      "process wall time (spawn → exit)",
      samples.map((sample) => sample.wallMs),
    ),
  );
}

await main();
