import { runAction } from "../../../src/action/run.js";
import { withActionNotifications } from "../../../src/notify/action.js";
import { runRecordState } from "../../../src/ops/record-state.js";
import { resolveStateBranch } from "../../../src/ops/state-branch.js";
import { createSinkTransport } from "../../../src/providers/notification-transports.js";
import { createNotifier } from "../../../src/providers/notifier.js";
import { createStateStore } from "../../../src/providers/state-store.js";
import { contract, readInputs } from "./contract.js";

await runAction(contract, (ctx) => {
  const inputs = readInputs(ctx.inputs);
  if (inputs.token) ctx.secret(inputs.token);
  const store = createStateStore("git", {
    git: {
      workspace: ctx.run.workspace,
      branch: resolveStateBranch(inputs.stateBranch, ctx.run.eventPath),
      specPath: inputs.spec,
      token: inputs.token,
      syncWorkspace: true,
    },
  });
  const notifier =
    inputs.environment && inputs.token && ctx.run.repository
      ? createNotifier("github", { github: { token: inputs.token, repository: ctx.run.repository } })
      : undefined;
  return withActionNotifications(ctx, createSinkTransport, (announcerFor) =>
    runRecordState(inputs, {
      announcerFor,
      run: ctx.run,
      setOutput: ctx.setOutput,
      store,
      ...(notifier ? { notifier } : {}),
      ...(process.env.GITHUB_SHA ? { deploymentRef: process.env.GITHUB_SHA } : {}),
      warn: (message) => ctx.log.warn(message),
      now: () => new Date(),
    }),
  );
});
