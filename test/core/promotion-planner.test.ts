import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildPlan, planMigration } from "../../src/core/planner.js";
import { decidePromotion } from "../../src/core/promotion.js";
import { PLAN_COMMENT_MARKER, renderPlanJson, renderPlanMarkdown } from "../../src/core/render-plan.js";
import type { Migration, MigrationsFile } from "../../src/model/spec.js";
import { initialStatus, type MigrationStatus, type PhaseState } from "../../src/model/status.js";
import { repoRoot } from "../support/run-action.js";

const spec = JSON.parse(readFileSync(join(repoRoot, "migrations.json"), "utf8")) as MigrationsFile;
const migration = spec.migrations[0]!;
const NOW = new Date("2026-03-10T00:00:00.000Z");

const at = (phase: string, overrides: Partial<Migration> = {}): Migration => ({
  ...migration,
  phase,
  ...overrides,
});

function status(
  phase: string | null,
  state: PhaseState,
  extra: Partial<MigrationStatus> = {},
): MigrationStatus {
  return { ...initialStatus(migration.id, NOW), phase, state, ...extra };
}

describe("promotion rules", () => {
  it("one phase forward is allowed when the current phase has passed", () => {
    const decision = decidePromotion({
      base: at("canary-10"),
      head: at("canary-50"),
      status: status("canary-10", "passed"),
    });
    expect(decision).toMatchObject({
      kind: "forward",
      allowed: true,
      rollback: false,
      from: "canary-10",
      to: "canary-50",
    });
  });

  it("one phase forward is refused while the current phase bakes, saying so", () => {
    const decision = decidePromotion({
      base: at("canary-10"),
      head: at("canary-50"),
      status: status("canary-10", "baking"),
    });
    expect(decision).toMatchObject({
      allowed: false,
      reason: '"canary-50" needs "canary-10" to have passed first, but "canary-10" is baking',
    });
  });

  it("skipping is refused with the phases skipped", () => {
    const decision = decidePromotion({
      base: at("staging"),
      head: at("full"),
      status: status("staging", "passed"),
    });
    expect(decision).toMatchObject({ kind: "skip", allowed: false, skipped: ["canary-10", "canary-50"] });
    expect(decision.reason).toBe(
      '"staging" → "full" skips "canary-10", "canary-50"; move one phase at a time',
    );
  });

  it("backward is an allowed, flagged rollback", () => {
    const decision = decidePromotion({
      base: at("canary-50"),
      head: at("canary-10"),
      status: status("canary-50", "baking"),
    });
    expect(decision).toMatchObject({ kind: "rollback", allowed: true, rollback: true });
  });

  it("the same phase is no change", () => {
    expect(
      decidePromotion({
        base: at("canary-10"),
        head: at("canary-10"),
        status: status("canary-10", "baking"),
      }),
    ).toMatchObject({
      kind: "no-change",
      allowed: true,
    });
  });

  it("a new migration starts at its first phase", () => {
    expect(
      decidePromotion({ base: undefined, head: at("staging"), status: status(null, "pending") }).allowed,
    ).toBe(true);
    expect(
      decidePromotion({ base: undefined, head: at("canary-10"), status: status(null, "pending") }),
    ).toMatchObject({
      kind: "start",
      allowed: false,
      reason: 'a new migration must start at its first phase "staging", not "canary-10"',
    });
  });

  it("a migration is removed only when done (or never applied)", () => {
    expect(
      decidePromotion({ base: at("full"), head: undefined, status: status("full", "baking") }).allowed,
    ).toBe(false);
    expect(
      decidePromotion({ base: at("decommission"), head: undefined, status: status("decommission", "done") })
        .allowed,
    ).toBe(true);
    expect(
      decidePromotion({ base: at("staging"), head: undefined, status: status(null, "pending") }).allowed,
    ).toBe(true);
  });

  it("an override with a reason lets a refused change through and keeps the refusal", () => {
    const head = at("full", {
      override: { reason: "incident 12: canary data is good", requestedBy: "oncall" },
    });
    const decision = decidePromotion({ base: at("staging"), head, status: status("staging", "passed") });
    expect(decision).toMatchObject({
      kind: "skip",
      allowed: true,
      override: {
        reason: "incident 12: canary data is good",
        requestedBy: "oncall",
        refusal: expect.stringContaining("skips"),
      },
    });
    const blank = decidePromotion({
      base: at("staging"),
      head: at("full", { override: { reason: "  " } }),
      status: status("staging", "passed"),
    });
    expect(blank.allowed).toBe(false);
  });

  it("an override left over from an earlier change does not let a new refused change through", () => {
    const override = { reason: "incident 12: canary data is good", requestedBy: "oncall" };
    const decision = decidePromotion({
      base: at("canary-10", { override }),
      head: at("full", { override }),
      status: status("canary-10", "baking"),
    });
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toContain("left over from an earlier change");
    const rewritten = decidePromotion({
      base: at("canary-10", { override }),
      head: at("full", { override: { reason: "incident 13: skip canary-50", requestedBy: "oncall" } }),
      status: status("canary-10", "baking"),
    });
    expect(rewritten.allowed).toBe(true);
  });
});

describe("planner", () => {
  it("plans the steps of the next phase with approvals, gate thresholds and the evidence of the passed phase", () => {
    const passed = status("canary-10", "passed", {
      weights: { old: 90, new: 10 },
      history: [
        {
          at: "2026-03-09T00:00:00.000Z",
          event: "gate-evaluated",
          phase: "canary-10",
          from: "baking",
          to: "passed",
          verdict: "pass",
          evidence: { kind: "gate", gate: "standard", samples: 120000 },
          runUrl: "https://github.example/runs/9",
        },
      ],
    });
    const decision = decidePromotion({ base: at("canary-10"), head: at("canary-50"), status: passed });
    const plan = planMigration(at("canary-50"), passed, decision, NOW);
    expect(plan.current).toMatchObject({
      earnedPromotion: true,
      lastVerdict: { verdict: "pass", gate: "standard", runUrl: "https://github.example/runs/9" },
    });
    expect(plan.steps.map((step) => [step.kind, step.approval])).toEqual([
      ["shift", "production"],
      ["bake", "production"],
    ]);
    expect(plan.steps[0]!.action).toBe(
      "Shift traffic: new 10 % → 50 %, old 90 % → 50 %, in one atomic change",
    );
    expect(plan.steps[1]!.bake).toEqual({ duration: "72h", seconds: 259_200 });
    expect(plan.steps[1]!.gate?.metrics[1]).toEqual({
      name: "latency-p95",
      metric: "latency-p95",
      side: "new",
      pass: { max: 500 },
      rollback: { max: 1000 },
      compareToOld: { maxRatio: 1.2 },
    });
    for (const step of plan.steps) expect(step.why.length).toBeGreaterThan(20);
  });

  it("shows the bake time left while the current phase bakes", () => {
    const baking = status("canary-10", "baking", {
      weights: { old: 90, new: 10 },
      timestamps: { updatedAt: NOW.toISOString(), bakeEndsAt: "2026-03-11T06:00:00.000Z" },
    });
    const decision = decidePromotion({ base: at("canary-10"), head: at("canary-10"), status: baking });
    const plan = planMigration(at("canary-10"), baking, decision, NOW);
    expect(plan.current).toMatchObject({ earnedPromotion: false, bakeLeftSeconds: 30 * 3600 });
    expect(plan.steps).toMatchObject([{ kind: "bake-continues", bake: { leftSeconds: 30 * 3600 } }]);
  });

  it("a rollback waits for no approval; a refusal plans nothing", () => {
    const rollback = planMigration(
      at("canary-10"),
      status("canary-50", "baking", { weights: { old: 50, new: 50 } }),
      decidePromotion({
        base: at("canary-50"),
        head: at("canary-10"),
        status: status("canary-50", "baking"),
      }),
      NOW,
    );
    expect(rollback.steps).toHaveLength(1);
    expect(rollback.steps[0]).toMatchObject({
      kind: "rollback",
      action: expect.stringContaining("new 50 % → 10 %"),
    });
    expect(rollback.steps[0]!.approval).toBeUndefined();
    const refused = planMigration(
      at("full"),
      status("staging", "passed"),
      decidePromotion({ base: at("staging"), head: at("full"), status: status("staging", "passed") }),
      NOW,
    );
    expect(refused.steps).toEqual([]);
  });

  it("renders Markdown with the sticky marker and JSON that round-trips", () => {
    const head: MigrationsFile = { ...spec, migrations: [at("full")] };
    const base: MigrationsFile = { ...spec, migrations: [at("staging")] };
    const plan = buildPlan({
      head,
      base,
      statuses: new Map([[migration.id, status("staging", "passed")]]),
      now: NOW,
      specFile: "migrations.json",
      baseRef: "HEAD~1",
      initial: (id) => initialStatus(id, NOW),
    });
    expect(plan.ok).toBe(false);
    const markdown = renderPlanMarkdown(plan);
    expect(markdown.startsWith(`${PLAN_COMMENT_MARKER}\n`)).toBe(true);
    expect(markdown).toContain("⛔ **Refused** (skip, staging → full)");
    expect(markdown).toContain('skips "canary-10", "canary-50"');
    expect(JSON.parse(renderPlanJson(plan))).toEqual(JSON.parse(JSON.stringify(plan)));

    const allowed = buildPlan({
      head: { ...spec, migrations: [at("canary-10")] },
      base,
      statuses: new Map([[migration.id, status("staging", "passed")]]),
      now: NOW,
      specFile: "migrations.json",
      initial: (id) => initialStatus(id, NOW),
    });
    const text = renderPlanMarkdown(allowed);
    expect(text).toContain("waits for approval of environment `production`");
    expect(text).toContain("| error-rate | new | ≤ 0.01 | ≤ 0.02 | ≤ old + 0.005 |");
  });
});
