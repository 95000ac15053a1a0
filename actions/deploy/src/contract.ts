import { defineContract } from "../../../src/action/contract.js";

/** The deploy action's inputs and outputs; action.yml declares exactly these. */
export const contract = defineContract({
  name: "deploy",
  description:
    "Deploy a new artifact to one side of a migration: a Lambda version behind its alias (zip, S3 object or image) or a new image on an ECS service, recording what it replaced as a checkpoint for rollback.",
  inputs: {
    migration: { description: "Id of the migration in the spec.", required: true },
    spec: { description: "Path of migrations.json, relative to the workspace.", default: "migrations.json" },
    side: { description: "Side to deploy to: new or old.", default: "new" },
    "zip-file": { description: "Lambda: path of the zip package in the workspace." },
    "s3-bucket": { description: "Lambda: S3 bucket of the code package (with s3-key)." },
    "s3-key": { description: "Lambda: S3 key of the code package (with s3-bucket)." },
    "s3-object-version": { description: "Lambda: S3 object version of the code package (optional)." },
    "image-uri": {
      description:
        "Container image: the new image of a Lambda image function, or of the ECS service's container.",
    },
    container: {
      description:
        "ECS: container whose image changes; defaults to the only container, else the first essential one.",
    },
    "alias-steps": {
      description:
        "Lambda: move the alias gradually, as rising percents of its traffic on the new version ending at 100 (e.g. 10,50,100). Empty moves it at once.",
    },
    "alias-step-interval": {
      description: "Lambda: pause after each partial alias step (e.g. 60s, 5m).",
      default: "60s",
    },
    "update-timeout": { description: "Lambda: longest wait for the code update to succeed.", default: "5m" },
    "stable-timeout": { description: "ECS: longest wait for the service to become stable.", default: "10m" },
    description: { description: "Description of the published Lambda version (defaults to the run)." },
  },
  outputs: {
    target: {
      description: "What was deployed to, e.g. Lambda orders-api:live or ECS service prod/orders-api.",
    },
    "previous-version": { description: "Lambda version or ECS task definition ARN before the deploy." },
    version: { description: "Lambda version or ECS task definition ARN after the deploy." },
    checkpoint: {
      description:
        "JSON checkpoint taken before the deploy (lambdaVersion or ecsTaskDefinition to restore); commit it to the status.",
    },
    "no-op": { description: "true when the side already ran this artifact and nothing changed." },
  },
});
