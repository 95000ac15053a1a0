import * as core from "@actions/core";
import { ActionRefusal, runAction } from "../../../src/action/run.js";
import { PlanRefusal, runPlan } from "../../../src/ops/plan.js";
import { resolveStateBranch } from "../../../src/ops/state-branch.js";
import { createNotifier } from "../../../src/providers/notifier.js";
import { createStateStore } from "../../../src/providers/state-store.js";
import { contract, readInputs } from "./contract.js";

await runAction(contract, async (ctx) => {
  const inputs = readInputs(ctx.inputs);
  if (inputs.token) ctx.secret(inputs.token);
  const store = createStateStore("git", {
    git: {
      workspace: ctx.run.workspace,
      branch: resolveStateBranch(inputs.stateBranch, ctx.run.eventPath),
      specPath: inputs.spec,
      token: inputs.token,
    },
  });
  const notifier =
    inputs.token && ctx.run.repository
      ? createNotifier("github", { github: { token: inputs.token, repository: ctx.run.repository } })
      : undefined;
  try {
    return await runPlan(inputs, {
      run: ctx.run,
      store,
      ...(notifier ? { notifier } : {}),
      setOutput: ctx.setOutput,
      warn: (message) => core.warning(message, { title: "Plan comment not posted" }),
      now: () => new Date(),
    });
  } catch (error) {
    if (error instanceof PlanRefusal) throw new ActionRefusal(error.message, error.report);
    throw error;
  }
});
