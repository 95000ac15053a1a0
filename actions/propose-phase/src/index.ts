import { InputError } from "../../../src/action/inputs.js";
import { runAction } from "../../../src/action/run.js";
import { withActionNotifications } from "../../../src/notify/action.js";
import { runProposePhase } from "../../../src/ops/propose-phase.js";
import { resolveStateBranch } from "../../../src/ops/state-branch.js";
import { createSinkTransport } from "../../../src/providers/notification-transports.js";
import { createNotifier } from "../../../src/providers/notifier.js";
import { contract, readInputs } from "./contract.js";

await runAction(contract, (ctx) => {
  const inputs = readInputs(ctx.inputs);
  ctx.secret(inputs.token);
  const repository = ctx.run.repository;
  if (!repository)
    throw new InputError(
      "token",
      "GITHUB_REPOSITORY is not set: the repository to open the pull request in is unknown",
    );
  return withActionNotifications(ctx, createSinkTransport, (announcerFor) =>
    runProposePhase(
      {
        migration: inputs.migration,
        phase: inputs.phase,
        reason: inputs.reason,
        evidence: inputs.evidence,
        specPath: inputs.spec,
        // The default branch, as the event payload names it (the state-branch rule without a configured branch).
        base: inputs.base ?? resolveStateBranch(undefined, ctx.run.eventPath),
      },
      {
        run: ctx.run,
        token: inputs.token,
        notifier: createNotifier("github", {
          github: { token: inputs.token, repository },
        }),
        setOutput: ctx.setOutput,
        announcerFor,
      },
    ),
  );
});
