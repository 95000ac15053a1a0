import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { proposalText, specWithPhase } from "../../src/ops/propose-phase.js";
import { repoRoot } from "../support/run-action.js";

const example = readFileSync(join(repoRoot, "migrations.json"), "utf8");

describe("propose-phase", () => {
  it("changes only the line holding the migration's phase", () => {
    const edited = specWithPhase(example, "orders-api", "canary-10");
    const before = example.split("\n");
    const after = edited.split("\n");
    expect(after).toHaveLength(before.length);
    const changed = after.flatMap((line, index) => (line === before[index] ? [] : [[before[index], line]]));
    expect(changed).toEqual([['      "phase": "staging",', '      "phase": "canary-10",']]);
  });

  it("refuses a phase the migration does not have, listing the phases", () => {
    expect(() => specWithPhase(example, "orders-api", "canary-20")).toThrow(
      /input "phase": "canary-20" is not a phase of "orders-api"; its phases: staging, canary-10, canary-50, full, decommission/,
    );
    expect(() => specWithPhase(example, "billing", "staging")).toThrow(/no migration "billing"/);
  });

  it("re-serialises a spec whose phase cannot be edited in place, still changing only the phase", () => {
    const compact = JSON.stringify(JSON.parse(example));
    const edited = JSON.parse(specWithPhase(compact, "orders-api", "canary-10"));
    expect(edited.migrations[0].phase).toBe("canary-10");
    expect({ ...edited.migrations[0], phase: "staging" }).toEqual(JSON.parse(example).migrations[0]);
  });

  it("titles a promotion and a return in line differently, with the evidence in the body", () => {
    const phases = ["staging", "canary-10", "canary-50"];
    const evidence = {
      gate: "standard",
      verdict: "pass",
      window: { start: "2026-03-01T10:00:00Z", end: "2026-03-03T10:00:00Z" },
      samples: { new: 52000 },
      minSamples: 1000,
      metrics: [
        { name: "error-rate", value: 0.002, verdict: "pass", pass: { max: 0.01 }, rollback: { max: 0.02 } },
      ],
      bake: { complete: true, endsAt: "2026-03-03T10:00:00Z" },
    };
    const forward = proposalText(
      "orders-api",
      "canary-10",
      "canary-50",
      phases,
      "bake passed",
      evidence,
      "https://run/1",
    );
    expect(forward.title).toBe("cutover(orders-api): promote to canary-50");
    expect(forward.body).toContain("| error-rate | 0.002 | ≤ 0.01 | ≤ 0.02 | pass |");
    expect(forward.body).toContain("52000 requests on the new side (minimum 1000)");
    const back = proposalText(
      "orders-api",
      "canary-10",
      "staging",
      phases,
      "rolled back",
      undefined,
      undefined,
    );
    expect(back.forward).toBe(false);
    expect(back.title).toBe("cutover(orders-api): bring migrations.json back in line (staging)");
  });
});
