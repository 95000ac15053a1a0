/**
 * ECS RegisterTaskDefinition refusals as AWS words them, through the real SDK client.
 * Each case cites where AWS's behaviour is documented or recorded.
 */
import {
  ClientException,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../../sandbox/index.js";
import { clientConfig, rejectionOf, startTestSandbox } from "../../fixtures/sandbox/control-plane.js";

let sandbox: Sandbox;
let ecs: ECSClient;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  ecs = new ECSClient(clientConfig(sandbox));
});

afterAll(async () => {
  ecs.destroy();
  await sandbox.close();
});

function fargate(
  extra: Partial<RegisterTaskDefinitionCommandInput> = {},
): RegisterTaskDefinitionCommandInput {
  return {
    family: "fidelity",
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: "256",
    memory: "512",
    containerDefinitions: [{ name: "app", image: "public.ecr.aws/nginx/nginx:latest", essential: true }],
    ...extra,
  };
}

describe("RegisterTaskDefinition: Fargate task sizes", () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size;
  // recorded wording in https://github.com/aws-games/cloud-game-development-toolkit/issues/737
  // ("No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values.").
  it.each([
    ["256", "4096"],
    ["512", "512"],
    ["1024", "1024"],
    ["4096", "31744"],
    ["300", "1024"],
  ])("refuses %s CPU with %s memory", async (cpu, memory) => {
    const error = await rejectionOf(ecs.send(new RegisterTaskDefinitionCommand(fargate({ cpu, memory }))));
    expect(error).toBeInstanceOf(ClientException);
    expect(error.message).toBe(
      `No Fargate configuration exists for given values: ${cpu} CPU, ${memory} memory. See the Amazon ECS documentation for the valid values.`,
    );
  });

  it.each([
    ["256", "2048"],
    ["512", "4096"],
    ["1 vCPU", "3 GB"],
    ["8192", "20480"],
    ["16384", "122880"],
  ])("accepts %s CPU with %s memory", async (cpu, memory) => {
    const registered = await ecs.send(new RegisterTaskDefinitionCommand(fargate({ cpu, memory })));
    expect(registered.taskDefinition?.cpu).toBe(cpu);
  });
});

describe("RegisterTaskDefinition: awslogs on Fargate needs an execution role", () => {
  // Recorded: https://github.com/virtual-kubelet/virtual-kubelet/issues/193
  // ("ClientException: Fargate requires task definition to have execution role ARN to support log driver awslogs.").
  const logging = {
    containerDefinitions: [
      {
        name: "app",
        image: "public.ecr.aws/nginx/nginx:latest",
        logConfiguration: {
          logDriver: "awslogs" as const,
          options: {
            "awslogs-group": "/ecs/app",
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "ecs",
          },
        },
      },
    ],
  };

  it("refuses awslogs without executionRoleArn", async () => {
    const error = await rejectionOf(ecs.send(new RegisterTaskDefinitionCommand(fargate(logging))));
    expect(error).toBeInstanceOf(ClientException);
    expect(error.message).toBe(
      "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
    );
  });

  it("accepts awslogs with an execution role", async () => {
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand(
        fargate({ ...logging, executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole" }),
      ),
    );
    expect(registered.taskDefinition?.executionRoleArn).toBe(
      "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    );
  });

  it("seeds the reference world's task definition with an execution role and awslogs, as a real Fargate service", async () => {
    const { taskDefinition } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: "orders-api:1" }),
    );
    expect(taskDefinition?.executionRoleArn).toMatch(/^arn:aws:iam::123456789012:role\//);
    expect(taskDefinition?.containerDefinitions?.[0]?.logConfiguration?.logDriver).toBe("awslogs");
    // What deploy does: register a copy of the current definition; it must be accepted as AWS would.
    const { taskDefinitionArn: _arn, revision: _revision, status: _status, ...copy } = taskDefinition ?? {};
    const again = await ecs.send(
      new RegisterTaskDefinitionCommand(copy as unknown as RegisterTaskDefinitionCommandInput),
    );
    expect(again.taskDefinition?.revision).toBe(2);
  });
});
