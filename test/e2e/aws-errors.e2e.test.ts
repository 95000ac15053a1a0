// AWS failures through the bundled actions on the sandbox: what the error says
// once the SDK's retries are spent, and that a wait given by the user is a
// bound even while the calls inside it are throttled.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { deploySeed, e2eWorkspace, MIGRATION } from "../fixtures/deploy/e2e.js";
import { runBundledAction } from "../support/run-action.js";

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: deploySeed() });
  return () => sandbox.close();
});
afterEach(async () => {
  await fetch(`${sandbox.endpoint}/_sandbox/faults`, { method: "DELETE" });
});

async function injectFault(fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${sandbox.endpoint}/_sandbox/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
  expect(response.status).toBe(201);
}

describe("AWS failures (bundled actions on the sandbox)", () => {
  it("names the service and operation, the attempts, and that a failed read changed nothing", async () => {
    await injectFault({
      service: "route53",
      operation: "ListResourceRecordSets",
      error: "InternalFailure",
      count: 50,
    });
    const run = await runBundledAction("shift-traffic", {
      inputs: { migration: MIGRATION, weight: "10", "insync-timeout": "20s" },
      env: sandbox.env,
      workspace: e2eWorkspace(),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /Route 53 ListResourceRecordSets failed after \d+ attempts: InternalFailure: .*; it only reads, so nothing was changed by it/,
    );
  }, 60_000);

  it("stops waiting for INSYNC at insync-timeout even while GetChange is throttled", async () => {
    await injectFault({
      service: "route53",
      operation: "GetChange",
      error: "Throttling",
      durationMs: 60_000,
    });
    const started = Date.now();
    const run = await runBundledAction("shift-traffic", {
      inputs: { migration: MIGRATION, weight: "10", "insync-timeout": "2s" },
      env: sandbox.env,
      workspace: e2eWorkspace(),
    });
    const elapsed = Date.now() - started;
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/was not INSYNC within 2 s/);
    // Process start, the reads and the change take well under 2 s on the sandbox; the wait itself stops at 2 s.
    expect(elapsed).toBeLessThan(6_000);
  }, 60_000);

  it("gives up on a change still throttled after the SDK's retries at the documented 30 s, saying what the refused or cut-off change may have done", async () => {
    await injectFault({
      service: "route53",
      operation: "ChangeResourceRecordSets",
      error: "Throttling",
      durationMs: 60_000,
    });
    const started = Date.now();
    const run = await runBundledAction("shift-traffic", {
      // The INSYNC test before left the records at 10 %: another weight, so there is a change to make.
      inputs: { migration: MIGRATION, weight: "50", "insync-timeout": "20s" },
      env: sandbox.env,
      workspace: e2eWorkspace(),
    });
    const elapsed = Date.now() - started;
    expect(run.exitCode).toBe(1);
    // Either the retries ran out before the budget (AWS refused each: nothing changed), or the last retry was
    // cut off at the 30 s bound, and the message says what that cut-off call may have done.
    expect(run.stdout).toMatch(
      /Route 53 ChangeResourceRecordSets failed after \d+ attempts: Throttling: .*(AWS refused it, so nothing was changed by it|retried for 30 s, the last attempt cut off at that bound: .*may or may not have applied it)/,
    );
    const submit = /step="submit change" start_ms=\d+ elapsed_ms=(\d+) outcome=failed/.exec(run.stdout);
    // The budget counts from the first attempt and cuts the last one off: 30 s plus the first attempt's
    // start, well under the 54 s an unbounded retry took.
    expect(Number(submit?.[1])).toBeLessThan(36_000);
    console.log(`throttled change: submit step ${submit?.[1]} ms, whole process ${elapsed} ms`);
  }, 90_000);
});
