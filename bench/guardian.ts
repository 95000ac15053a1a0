// How fast the guardian puts traffic back on the sandbox, GitHub nowhere:
// each run starts a fresh account with the guardian installed (10 s rollback
// alarms, 3 of 3 datapoints), shifts half the traffic to the new side with the
// bundled shift-traffic, makes the new side fail half its requests while real
// HTTP traffic flows through the data plane, and times
//
//   first failing request → alarm ALARM → change submitted → INSYNC
//
// The alarm's own share (it needs three breaching 10 s datapoints, then its
// next evaluation) is printed apart from the guardian's (EventBridge delivery,
// the function's start, the handler's reads and writes).
//
//   npx tsx bench/guardian.ts            # 10 runs
//   BENCH_RUNS=3 npx tsx bench/guardian.ts
//
// Build first: npm run build -- --only guardian,shift-traffic
import { existsSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { startTraffic } from "../sandbox/traffic.js";
import { eventually, RECORD, startGuardianWorld } from "../test/fixtures/guardian/world.js";
import { TrafficWorkspace } from "../test/fixtures/traffic/workspace.js";
import { repoRoot, runBundledAction } from "../test/support/run-action.js";

const RUNS = Math.min(Math.max(Number(process.env.BENCH_RUNS ?? 10) || 10, 1), 30);

interface Sample {
  /** First failing request → alarm entered ALARM (the alarm's evaluation window and cadence). */
  alarmMs: number;
  /** ALARM → change submitted (EventBridge, Lambda start, the handler). */
  guardianToSubmittedMs: number;
  /** Change submitted → INSYNC. */
  submittedToInsyncMs: number;
  /** First failing request → INSYNC. */
  totalMs: number;
  /** The handler's own time from its start to the change submitted. */
  handlerMs?: number;
  cold?: boolean;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

interface Invocation {
  functionName?: string;
  cold?: boolean;
  logs?: string[] | string;
}

/** The handler's change_submitted_ms from its log line, and whether the invocation was a cold start. */
async function handlerFigures(endpoint: string): Promise<{ handlerMs?: number; cold?: boolean }> {
  const response = await fetch(`${endpoint}/_sandbox/lambda/invocations`);
  if (!response.ok) return {};
  const body = (await response.json()) as { invocations?: Invocation[] } | Invocation[];
  const invocations = Array.isArray(body) ? body : (body.invocations ?? []);
  for (const invocation of invocations.reverse()) {
    const lines = Array.isArray(invocation.logs)
      ? invocation.logs
      : String(invocation.logs ?? "").split("\n");
    for (const line of lines) {
      const match = /"change_submitted_ms":(\d+)/.exec(line);
      if (match)
        return {
          handlerMs: Number(match[1]),
          ...(invocation.cold !== undefined ? { cold: invocation.cold } : {}),
        };
    }
  }
  return {};
}

async function once(run: number): Promise<Sample> {
  const world = await startGuardianWorld({ alarmEvaluationIntervalMs: 10_000 });
  const workspace = new TrafficWorkspace(world.migration);
  try {
    const shifted = await runBundledAction("shift-traffic", {
      inputs: { migration: "orders-api", weight: "50", "checkpoint-store": world.install.store },
      env: world.sandbox.env,
      workspace: workspace.dir,
      timeoutMs: 30_000,
    });
    if (shifted.exitCode !== 0) throw new Error(`run ${run}: shift failed\n${shifted.stdout}`);
    const traffic = startTraffic({ url: world.sandbox.dataPlaneUrls[RECORD]!, rps: 30, durationMs: 90_000 });
    // Let healthy traffic establish the alarm's OK baseline first.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const failingFrom = Date.now();
    await fetch(`${world.sandbox.endpoint}/_sandbox/backends/${RECORD}/lambda`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ errorRate: 0.5, durationMs: 120_000 }),
    });
    try {
      const entry = await eventually(
        "the guardian's rollback",
        async () => (await world.store.listJournal("orders-api")).entries[0],
        90_000,
      );
      const alarmAt = Date.parse(entry.trigger.alarm?.timestamp ?? "");
      const submittedAt = Date.parse(entry.submittedAt ?? "");
      const insyncAt = Date.parse(entry.insyncAt ?? "");
      const figures = await handlerFigures(world.sandbox.endpoint);
      return {
        alarmMs: alarmAt - failingFrom,
        guardianToSubmittedMs: submittedAt - alarmAt,
        submittedToInsyncMs: insyncAt - submittedAt,
        totalMs: insyncAt - failingFrom,
        ...figures,
      };
    } finally {
      traffic.stop();
      await traffic.done;
    }
  } finally {
    rmSync(workspace.dir, { recursive: true, force: true });
    await world.close();
  }
}

async function main(): Promise<void> {
  for (const bundle of ["guardian/dist/index.mjs", "actions/shift-traffic/dist/index.js"]) {
    if (!existsSync(join(repoRoot, bundle))) {
      console.error(`${bundle} is missing: npm run build -- --only guardian,shift-traffic`);
      process.exit(1);
    }
  }
  const samples: Sample[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const sample = await once(run);
    samples.push(sample);
    console.log(
      `run ${run}/${RUNS}: ALARM ${sample.alarmMs} ms after the first failing request; change submitted ${sample.guardianToSubmittedMs} ms after ALARM` +
        ` (handler ${sample.handlerMs ?? "?"} ms${sample.cold === undefined ? "" : sample.cold ? ", cold" : ", warm"}); INSYNC ${sample.submittedToInsyncMs} ms later`,
    );
  }
  const row = (label: string, values: number[]) =>
    `${label.padEnd(52)} ${String(percentile(values, 50)).padStart(7)} ${String(percentile(values, 95)).padStart(7)} ${String(Math.min(...values)).padStart(7)} ${String(Math.max(...values)).padStart(7)}`;
  console.log("");
  console.log(
    `guardian on the sandbox: ${RUNS} runs, alarms 3 of 3 × 10 s datapoints evaluated every 10 s, load average ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(
    `${"(ms)".padEnd(52)} ${"median".padStart(7)} ${"p95".padStart(7)} ${"min".padStart(7)} ${"max".padStart(7)}`,
  );
  console.log(
    row(
      "first failing request → ALARM (the alarm's window)",
      samples.map((s) => s.alarmMs),
    ),
  );
  console.log(
    row(
      "ALARM → change submitted (the guardian's share)",
      samples.map((s) => s.guardianToSubmittedMs),
    ),
  );
  const handler = samples.flatMap((s) => (s.handlerMs === undefined ? [] : [s.handlerMs]));
  if (handler.length > 0) console.log(row("  of which the handler, start → change submitted", handler));
  console.log(
    row(
      "change submitted → INSYNC",
      samples.map((s) => s.submittedToInsyncMs),
    ),
  );
  console.log(
    row(
      "first failing request → INSYNC",
      samples.map((s) => s.totalMs),
    ),
  );
  console.log("");
  console.log(
    "Goal: change submitted ≤ the alarm's evaluation window + 2 s; the handler's own work ≤ 1 s warm.",
  );
}

await main();
