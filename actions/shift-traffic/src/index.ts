import { createAwsClients } from "../../../src/action/aws.js";
import { runAction } from "../../../src/action/run.js";
import { withActionNotifications } from "../../../src/notify/action.js";
import { runShiftTraffic } from "../../../src/ops/shift-traffic.js";
import { createCheckpointStore } from "../../../src/providers/checkpoint-stores.js";
import { createSinkTransport } from "../../../src/providers/notification-transports.js";
import { contract, readInputs } from "./contract.js";

await runAction(contract, (ctx) => {
  const inputs = readInputs(ctx.inputs);
  return withActionNotifications(ctx, createSinkTransport, (announcerFor) =>
    runShiftTraffic(inputs, {
      announcerFor,
      run: ctx.run,
      log: ctx.log,
      setOutput: ctx.setOutput,
      clients: createAwsClients(),
      now: () => new Date(),
      ...(inputs.checkpointStore
        ? { checkpointStore: createCheckpointStore(inputs.checkpointStore, 'input "checkpoint-store"') }
        : {}),
    }),
  );
});
