import { createAwsClients } from "../../../src/action/aws.js";
import type { InputReader } from "../../../src/action/inputs.js";
import { InputError } from "../../../src/action/inputs.js";
import { runAction } from "../../../src/action/run.js";
import { type DeployInputs, runDeploy } from "../../../src/ops/deploy.js";
import { checkAliasSteps } from "../../../src/ops/deploy-lambda.js";
import { contract } from "./contract.js";

type DeployInput = keyof typeof contract.inputs;

/** "10,50,100" → [10, 50, 100], order and range checked here, before the deploy writes anything. */
function aliasSteps(inputs: InputReader<DeployInput>): number[] {
  const text = inputs.optional("alias-steps");
  if (text === undefined) return [];
  const steps = text.split(",").map((part) => {
    const trimmed = part.trim();
    if (!/^\d+$/.test(trimmed)) {
      throw new InputError(
        "alias-steps",
        `"${text}" is not a comma-separated list of whole percents (e.g. "10,50,100")`,
      );
    }
    return Number(trimmed);
  });
  return checkAliasSteps(steps);
}

function parseInputs(inputs: InputReader<DeployInput>): DeployInputs {
  return {
    migration: inputs.string("migration"),
    spec: inputs.string("spec"),
    side: inputs.choice("side", ["new", "old"] as const),
    artifact: {
      zipFile: inputs.optional("zip-file"),
      s3Bucket: inputs.optional("s3-bucket"),
      s3Key: inputs.optional("s3-key"),
      s3ObjectVersion: inputs.optional("s3-object-version"),
      imageUri: inputs.optional("image-uri"),
      container: inputs.optional("container"),
    },
    aliasSteps: aliasSteps(inputs),
    aliasStepIntervalSeconds: inputs.duration("alias-step-interval") ?? 60,
    updateTimeoutSeconds: inputs.duration("update-timeout") ?? 300,
    stableTimeoutSeconds: inputs.duration("stable-timeout") ?? 600,
    description: inputs.optional("description"),
  };
}

await runAction(contract, (ctx) =>
  runDeploy(parseInputs(ctx.inputs), {
    run: ctx.run,
    log: ctx.log,
    setOutput: ctx.setOutput,
    clients: createAwsClients(),
    now: () => new Date(),
  }),
);
