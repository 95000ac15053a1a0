/**
 * A second client: aws-cli (botocore) against a started sandbox, a few calls per service, so botocore's
 * serialisation (REST-XML, JSON 1.1, REST-JSON, and the Query protocol aws-cli 2 speaks for CloudWatch) is served
 * as AWS serves it. Expected answers come from the AWS API references cited in the other fidelity files.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../../sandbox/index.js";
import { startTestSandbox } from "../../fixtures/sandbox/control-plane.js";

/** CUTOVER_AWS_CLI when set, else the Debian package's aws (aws-cli 2, what .ci/run installs), else the first aws on PATH. */
function findAwsCli(): string | undefined {
  const chosen = process.env.CUTOVER_AWS_CLI;
  if (chosen !== undefined && chosen.length > 0) return existsSync(chosen) ? chosen : undefined;
  if (existsSync("/usr/bin/aws")) return "/usr/bin/aws";
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "aws");
    if (dir.length > 0 && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const AWS = findAwsCli();
if (!AWS)
  console.warn(
    "aws-cli tests skipped: no `aws` on PATH (install the Debian package: apt-get install -y awscli)",
  );

let sandbox: Sandbox;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function aws(...args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: sandbox.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: sandbox.env.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_PAGER: "",
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_MAX_ATTEMPTS: "1",
  };
  return new Promise((resolve) => {
    execFile(
      AWS!,
      ["--endpoint-url", sandbox.endpoint, "--output", "json", ...args],
      { env, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function json(...args: string[]): Promise<Record<string, unknown>> {
  const result = await aws(...args);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

describe.skipIf(!AWS)(`aws-cli (${AWS ?? "not installed"}) against the sandbox`, () => {
  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it("route53: reads the zone and records, and gets InvalidChangeBatch for an alias outside its target zone", async () => {
    const zone = await json("route53", "get-hosted-zone", "--id", "Z0123456789EXAMPLECOM");
    expect((zone.HostedZone as { Name: string }).Name).toBe("example.com.");
    const records = await json(
      "route53",
      "list-resource-record-sets",
      "--hosted-zone-id",
      "Z0123456789EXAMPLECOM",
    );
    const weighted = (
      records.ResourceRecordSets as Array<{ Name: string; SetIdentifier?: string; Weight?: number }>
    )
      .filter((record) => record.Name === "api.example.com.")
      .map((record) => [record.SetIdentifier, record.Weight]);
    expect(weighted).toEqual([
      ["ecs-fargate", 100],
      ["lambda", 0],
    ]);
    const refused = await aws(
      "route53",
      "change-resource-record-sets",
      "--hosted-zone-id",
      "Z0123456789EXAMPLECOM",
      "--change-batch",
      JSON.stringify({
        Changes: [
          {
            Action: "CREATE",
            ResourceRecordSet: {
              Name: "x.example.com",
              Type: "A",
              AliasTarget: {
                HostedZoneId: "Z35SXDOTRQ7X7K",
                DNSName: "example.org",
                EvaluateTargetHealth: false,
              },
            },
          },
        ],
      }),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("(InvalidChangeBatch)");
    expect(refused.stderr).toContain("does not lie within the target zone");
  });

  it("ecs: describes the service and gets ClientException for a Fargate size AWS does not offer", async () => {
    const described = await json("ecs", "describe-services", "--cluster", "prod", "--services", "orders-api");
    expect((described.services as Array<{ desiredCount: number }>)[0]?.desiredCount).toBe(3);
    const refused = await aws(
      "ecs",
      "register-task-definition",
      "--family",
      "cli",
      "--requires-compatibilities",
      "FARGATE",
      "--network-mode",
      "awsvpc",
      "--cpu",
      "256",
      "--memory",
      "4096",
      "--container-definitions",
      JSON.stringify([{ name: "app", image: "nginx" }]),
    );
    expect(refused.stderr).toContain("(ClientException)");
    expect(refused.stderr).toContain(
      "No Fargate configuration exists for given values: 256 CPU, 4096 memory",
    );
  });

  it("lambda: reads the alias and reads the Message of a refusal", async () => {
    const alias = await json("lambda", "get-alias", "--function-name", "orders-api", "--name", "live");
    expect(alias.FunctionVersion).toBe("1");
    const missing = await aws("lambda", "get-function", "--function-name", "nothing");
    expect(missing.stderr).toContain("(ResourceNotFoundException)");
    expect(missing.stderr).toContain(
      "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nothing",
    );
  });

  it("cloudwatch: put-metric-data, list-metrics, get-metric-statistics and get-metric-data, with errors", async () => {
    const now = Date.now();
    const put = await aws(
      "cloudwatch",
      "put-metric-data",
      "--namespace",
      "Cli/Orders",
      "--metric-data",
      JSON.stringify([
        {
          MetricName: "Latency",
          Dimensions: [{ Name: "Service", Value: "orders" }],
          Values: [100, 200, 300],
          Unit: "Milliseconds",
          Timestamp: iso(now - 120_000),
        },
      ]),
    );
    expect(put.code, put.stderr).toBe(0);
    const listed = await json("cloudwatch", "list-metrics", "--namespace", "Cli/Orders");
    expect(listed.Metrics).toEqual([
      { Namespace: "Cli/Orders", MetricName: "Latency", Dimensions: [{ Name: "Service", Value: "orders" }] },
    ]);
    const window = ["--start-time", iso(now - 3_600_000), "--end-time", iso(now + 60_000)];
    const statistics = await json(
      "cloudwatch",
      "get-metric-statistics",
      "--namespace",
      "Cli/Orders",
      "--metric-name",
      "Latency",
      "--dimensions",
      "Name=Service,Value=orders",
      "--period",
      "60",
      "--statistics",
      "Sum",
      "SampleCount",
      ...window,
    );
    expect(statistics.Datapoints).toEqual([
      expect.objectContaining({ Sum: 600, SampleCount: 3, Unit: "Milliseconds" }),
    ]);
    const data = await json(
      "cloudwatch",
      "get-metric-data",
      "--metric-data-queries",
      JSON.stringify([
        {
          Id: "p",
          MetricStat: {
            Metric: {
              Namespace: "Cli/Orders",
              MetricName: "Latency",
              Dimensions: [{ Name: "Service", Value: "orders" }],
            },
            Period: 60,
            Stat: "TM(150:250)",
          },
        },
      ]),
      ...window,
    );
    const [result] = data.MetricDataResults as Array<{ Values: number[]; StatusCode: string }>;
    expect(result).toMatchObject({ Values: [200], StatusCode: "Complete" });
    const refused = await aws(
      "cloudwatch",
      "get-metric-statistics",
      "--namespace",
      "Cli/Orders",
      "--metric-name",
      "Latency",
      "--period",
      "1",
      "--statistics",
      "Sum",
      ...window,
    );
    expect(refused.stderr).toContain("(InvalidParameterCombination)");
    expect(refused.stderr).toContain("exceeds the limit of 1440");
  });
});
