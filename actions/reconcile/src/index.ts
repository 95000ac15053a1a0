import * as core from "@actions/core";
import { createAwsClients } from "../../../src/action/aws.js";
import { ActionRefusal, runAction } from "../../../src/action/run.js";
import { withActionNotifications } from "../../../src/notify/action.js";
import { DriftRefusal, runReconcile } from "../../../src/ops/reconcile.js";
import { resolveStateBranch } from "../../../src/ops/state-branch.js";
import { createTrafficProviders } from "../../../src/ops/traffic.js";
import { createCheckpointStore } from "../../../src/providers/checkpoint-stores.js";
import { createSinkTransport } from "../../../src/providers/notification-transports.js";
import { createStateStore } from "../../../src/providers/state-store.js";
import { contract, readInputs } from "./contract.js";

await runAction(contract, (ctx) =>
  withActionNotifications(ctx, createSinkTransport, async (announcerFor) => {
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
    const clients = createAwsClients();
    try {
      return await runReconcile(inputs, {
        announcerFor,
        run: ctx.run,
        setOutput: ctx.setOutput,
        store,
        providers: (migration) => createTrafficProviders(migration, clients),
        warn: (message) => core.warning(message, { title: "Drift made outside cutover" }),
        now: () => new Date(),
        ...(inputs.checkpointStore
          ? { checkpointStore: createCheckpointStore(inputs.checkpointStore, 'input "checkpoint-store"') }
          : {}),
      });
    } catch (error) {
      if (error instanceof DriftRefusal) throw new ActionRefusal(error.message, error.report);
      throw error;
    }
  }),
);
