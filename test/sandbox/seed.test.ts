import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadSeed, SeedError, startSandbox, validateSeed } from "../../sandbox/index.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/sandbox/${name}`, import.meta.url));
const REFERENCE = fileURLToPath(new URL("../../sandbox/seeds/reference.json", import.meta.url));

async function problemsOf(file: string): Promise<SeedError["problems"]> {
  const error = await loadSeed(file).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SeedError);
  return (error as SeedError).problems;
}

describe("seed files", () => {
  it("loads the reference world", async () => {
    const seed = await loadSeed(REFERENCE);
    expect(
      seed.route53?.hostedZones[0]?.records.map((record) => record.setIdentifier ?? record.name),
    ).toEqual(["ecs-fargate", "lambda", "status.example.com"]);
    expect(seed.ecs?.clusters[0]?.services[0]).toMatchObject({ name: "orders-api", desiredCount: 3 });
    expect(seed.lambda?.functions[0]?.aliases).toEqual([{ name: "live", version: "1" }]);
  });

  it("reports every shape problem with its JSON path and what would be accepted", async () => {
    const problems = await problemsOf(fixture("invalid-seed.json"));
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: "$.region", message: 'must be an AWS region such as us-east-1; got "moon-1"' },
        {
          path: "$.route53.hostedZones[0].records[0].weight",
          message: "must be an integer from 0 to 255; got 300",
        },
        {
          path: "$.ecs.clusters[0].services[0].desiredCount",
          message: "must be an integer from 0 to 1000; got -1",
        },
        {
          path: "$.ecs.clusters[0].services[0].taskDefinition.image",
          message: "must be a container image reference; got nothing",
        },
        {
          path: "$.lambda.functions[0].timeout",
          message: "is not a known field; accepted: name, runtime, memorySize, aliases",
        },
        {
          path: "$.lambda.functions[0].aliases[0].version",
          message: 'must be a version number such as "1", or "$LATEST"; got "latest"',
        },
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it("refuses records AWS would refuse, through the Route 53 change engine", async () => {
    const problems = await problemsOf(fixture("conflicting-records-seed.json"));
    expect(problems.map((problem) => problem.path)).toEqual([
      "$.route53.hostedZones[0].records[0]",
      "$.route53.hostedZones[0].records[1]",
      "$.route53.hostedZones[0].records[2]",
    ]);
    expect(problems[1]?.message).toContain("weighted sets exist with the same name and type");
    expect(problems[2]?.message).toContain("is not permitted in zone example.com.");
  });

  it("refuses an alias with a TTL and a data plane pointing at undeclared things", () => {
    const seed = {
      route53: {
        hostedZones: [
          {
            id: "ZSEED",
            name: "example.com",
            records: [
              {
                name: "a.example.com",
                type: "A",
                ttl: 60,
                aliasTarget: {
                  hostedZoneId: "Z35SXDOTRQ7X7K",
                  dnsName: "x.elb.amazonaws.com",
                  evaluateTargetHealth: false,
                },
              },
            ],
          },
        ],
      },
      dataPlane: [{ recordName: "a.example.com", backends: {} }],
    };
    const error = (() => {
      try {
        validateSeed(seed, "inline");
      } catch (caught) {
        return caught as SeedError;
      }
      throw new Error("expected the seed to be refused");
    })();
    expect(error.problems).toEqual([
      {
        path: "$.route53.hostedZones[0].records[0]",
        message: expect.stringContaining(
          "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]",
        ),
      },
    ]);
    expect(error.message).toContain("inline is not a valid sandbox seed");
  });

  it("refuses a Fargate size AWS does not offer and an execution role that is not a role ARN", () => {
    const seed = {
      ecs: {
        clusters: [
          {
            name: "prod",
            services: [
              {
                name: "orders-api",
                desiredCount: 1,
                taskDefinition: {
                  family: "orders-api",
                  image: "orders:1",
                  cpu: "256",
                  memory: "4096",
                  executionRoleArn: "ecsTaskExecutionRole",
                },
              },
            ],
          },
        ],
      },
    };
    const error = (() => {
      try {
        validateSeed(seed, "inline");
      } catch (caught) {
        return caught as SeedError;
      }
      throw new Error("expected the seed to be refused");
    })();
    expect(error.problems.map((problem) => problem.path)).toEqual([
      "$.ecs.clusters[0].services[0].taskDefinition.executionRoleArn",
      "$.ecs.clusters[0].services[0].taskDefinition.memory",
    ]);
    expect(error.problems[1]?.message).toContain("no Fargate configuration exists for 256 CPU and 4096 MiB");
  });

  it("names the file when it is not JSON", async () => {
    const problems = await problemsOf(fixture("mount.ts"));
    expect(problems[0]?.path).toBe("$");
    expect(problems[0]?.message).toMatch(/^not valid JSON/);
  });

  it("starts the reference world with its data plane and mounts the data plane's admin API", async () => {
    const sandbox = await startSandbox({ seed: await loadSeed(REFERENCE) });
    try {
      expect(Object.keys(sandbox.dataPlaneUrls)).toEqual(["api.example.com"]);
      expect(sandbox.dataPlaneUrls["api.example.com"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const backends = await fetch(`${sandbox.endpoint}/_sandbox/backends`);
      expect(backends.status).toBe(200);
      const faults = await fetch(`${sandbox.endpoint}/_sandbox/faults`);
      expect(await faults.json()).toEqual({ faults: [] });
    } finally {
      await sandbox.close();
    }
  });
});
