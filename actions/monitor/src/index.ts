import { runAction } from "../../../src/action/run.js";
import { runMonitor } from "../../../src/ops/monitor.js";
import { contract, readInputs } from "./contract.js";

await runAction(contract, (ctx) =>
  runMonitor(readInputs(ctx.inputs), { run: ctx.run, setOutput: ctx.setOutput, now: () => new Date() }),
);
