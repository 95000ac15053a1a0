import { runAction } from "../../../src/action/run.js";
import { selectMigrations } from "../../../src/ops/select-migrations.js";
import { resolveStateBranch } from "../../../src/ops/state-branch.js";
import { createStateStore } from "../../../src/providers/state-store.js";
import { contract, readInputs } from "./contract.js";

await runAction(contract, async (ctx) => {
  const inputs = readInputs(ctx.inputs);
  if (inputs.token) ctx.secret(inputs.token);
  const store =
    inputs.select === "baking"
      ? createStateStore("git", {
          git: {
            workspace: ctx.run.workspace,
            branch: resolveStateBranch(inputs.stateBranch, ctx.run.eventPath),
            specPath: inputs.spec,
            token: inputs.token,
          },
        })
      : undefined;
  const result = await selectMigrations({
    select: inputs.select,
    workspace: ctx.run.workspace,
    specPath: inputs.spec,
    base: inputs.base,
    migration: inputs.migration,
    targetPhase: inputs.targetPhase,
    store,
  });
  ctx.setOutput("matrix", result.targets);
  ctx.setOutput("count", result.targets.length);
  ctx.setOutput("migrations", result.targets.map((target) => target.migration).join(","));
  return {
    title: `Selected ${result.targets.length} migration${result.targets.length === 1 ? "" : "s"} (${inputs.select})`,
    found: result.found,
    tables:
      result.targets.length > 0
        ? [
            {
              rows: [
                ["Migration", "Phase", "Environment", "Deploy", "Load tests", "Weight", "Gate"],
                ...result.targets.map((t) => [
                  t.migration,
                  t.phase,
                  t.environment,
                  t.deploy,
                  String(t.scenarios.length),
                  t.weight || "–",
                  t.gate || "–",
                ]),
              ],
            },
          ]
        : [],
    next: result.targets.length === 0 ? ["Nothing to do in this run."] : [],
  };
});
