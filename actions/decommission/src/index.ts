import { createAwsClients } from "../../../src/action/aws.js";
import type { InputReader } from "../../../src/action/inputs.js";
import { runAction } from "../../../src/action/run.js";
import { DECOMMISSION_STAGES } from "../../../src/core/decommission.js";
import { withActionNotifications } from "../../../src/notify/action.js";
import { type DecommissionInputs, runDecommission } from "../../../src/ops/decommission.js";
import { createSinkTransport } from "../../../src/providers/notification-transports.js";
import { contract } from "./contract.js";

type DecommissionInput = keyof typeof contract.inputs;

function parseInputs(inputs: InputReader<DecommissionInput>): DecommissionInputs {
  return {
    migration: inputs.string("migration"),
    stage: inputs.choice("stage", DECOMMISSION_STAGES),
    spec: inputs.string("spec"),
    holdStartedAt: inputs.timestamp("hold-started-at"),
    deregisterTaskDefinitions:
      inputs.optional("deregister-task-definitions") === undefined
        ? undefined
        : inputs.boolean("deregister-task-definitions"),
    stableTimeoutSeconds: inputs.duration("stable-timeout") ?? 600,
  };
}

await runAction(contract, (ctx) =>
  withActionNotifications(ctx, createSinkTransport, (announcerFor) =>
    runDecommission(parseInputs(ctx.inputs), {
      announcerFor,
      run: ctx.run,
      log: ctx.log,
      setOutput: ctx.setOutput,
      clients: createAwsClients(),
      now: () => new Date(),
    }),
  ),
);
