import { createAwsClients } from "../../../src/action/aws.js";
import { runAction } from "../../../src/action/run.js";
import { runRollback } from "../../../src/ops/rollback.js";
import { contract, readInputs } from "./contract.js";

await runAction(contract, (ctx) =>
  runRollback(readInputs(ctx.inputs), {
    run: ctx.run,
    log: ctx.log,
    setOutput: ctx.setOutput,
    clients: createAwsClients(),
    now: () => new Date(),
  }),
);
