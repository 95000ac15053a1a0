import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { MigrationsFile } from "../../src/model/spec.js";
import { alarmPeriod, isHighResolution } from "../constructs/rollback-alarms.js";
import { InfraConfigError, parseInfraConfig } from "../inputs/config.js";
import { grantsFor, InfraPlanError, planStacks } from "../inputs/plan.js";
import { checkSpecForInfra } from "../inputs/spec.js";
import { configFromFile, EXAMPLE_SPEC, INFRA_DIR } from "./support/synth.js";

const run = promisify(execFile);
const spec = JSON.parse(readFileSync(EXAMPLE_SPEC, "utf8")) as MigrationsFile;
const exampleConfig = () => configFromFile(join(INFRA_DIR, "config.json"));

function configProblems(raw: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseInfraConfig(raw, "/repo/infra/config.json", env);
  } catch (error) {
    expect(error).toBeInstanceOf(InfraConfigError);
    expect((error as Error).message).toContain("/repo/infra/config.json");
    return (error as InfraConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

function planProblems(specFile: MigrationsFile, config = exampleConfig()): string[] {
  try {
    planStacks(specFile, config);
  } catch (error) {
    expect(error).toBeInstanceOf(InfraPlanError);
    return (error as InfraPlanError).problems;
  }
  throw new Error("expected the plan to be refused");
}

describe("infrastructure configuration", () => {
  it("refuses a guardian topic that is not an SNS topic of the environment's region", () => {
    const raw = JSON.parse(readFileSync(join(INFRA_DIR, "config.json"), "utf8"));
    raw.environments.production.guardianNotifyTopicArn = "arn:aws:sns:us-west-2:123456789012:alerts";
    expect(configProblems(raw)).toEqual([
      expect.stringMatching(
        /^\$\.environments\.production\.guardianNotifyTopicArn is "arn:aws:sns:us-west-2:123456789012:alerts": expected an SNS topic ARN in this environment's region/,
      ),
    ]);
  });

  it("refuses a workflow source that no OIDC token could name, with its JSON path", () => {
    const raw = JSON.parse(readFileSync(join(INFRA_DIR, "config.json"), "utf8"));
    raw.github.workflows = { repository: "cutover", ref: "v1" };
    const problems = configProblems(raw);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^\$\.github\.workflows\.repository is "cutover": expected "owner\/repository"/,
        ),
        expect.stringMatching(/^\$\.github\.workflows\.ref is "v1": expected the full ref the callers pin/),
      ]),
    );
  });

  it("reports every problem with its JSON path and what would be accepted", () => {
    const problems = configProblems({
      github: { owner: "acme" },
      environments: { Production: { region: "", githubEnvironments: [], oidcProvider: "maybe" } },
      alarms: { evaluationPeriods: 2, datapointsToAlarm: 3 },
      dispatchToken: { source: "env" },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("$.github: owner and repository are required"),
        expect.stringContaining("$.environments.Production: the name must be lowercase"),
        expect.stringContaining("$.environments.Production.region must be a non-empty string"),
        expect.stringContaining("$.environments.Production.githubEnvironments: list at least one"),
        expect.stringContaining(
          '$.environments.Production.oidcProvider is "maybe": expected "create" or "existing"',
        ),
        expect.stringContaining("$.alarms.datapointsToAlarm (3) must not exceed evaluationPeriods (2)"),
        expect.stringContaining('$.dispatchToken.source is "env": expected "variable" or "secrets-manager"'),
      ]),
    );
  });

  it("refuses a malformed CUTOVER_GITHUB_REPOSITORY", () => {
    const raw = JSON.parse(readFileSync(join(INFRA_DIR, "config.json"), "utf8"));
    expect(configProblems(raw, { CUTOVER_GITHUB_REPOSITORY: "just-a-name" })).toEqual([
      'CUTOVER_GITHUB_REPOSITORY is "just-a-name": expected "owner/repository"',
    ]);
  });

  it("resolves the spec path against the configuration file's folder and applies defaults", () => {
    const config = parseInfraConfig(
      {
        github: { owner: "o", repository: "r" },
        environments: { prod: { region: "us-east-1", githubEnvironments: ["p"] } },
      },
      "/repo/infra/config.json",
      {},
    );
    expect(config.specPath).toBe("/repo/migrations.json");
    expect(config.github.defaultBranch).toBe("main");
    expect(config.dispatchToken).toEqual({ source: "variable" });
    expect(config.alarms).toEqual({
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      highResolutionNamespaces: [],
    });
    expect(config.environments["prod"]!.oidcProvider).toBe("create");
  });
});

describe("stack planning", () => {
  it("refuses a phase environment that no stack serves, naming the phase", () => {
    const config = exampleConfig();
    config.environments["production"]!.githubEnvironments = ["production"];
    expect(planProblems(spec, config)).toEqual([
      expect.stringContaining(
        'migrations.json $.migrations[0].phases[4].environment is "production-decommission", which no stack serves',
      ),
    ]);
  });

  it("refuses two stacks managing the same weighted record, and says how to give one its own", () => {
    const config = exampleConfig();
    config.environments["staging"]!.routers = {};
    const [problem] = planProblems(spec, config);
    expect(problem).toContain(
      "record api.example.com in hosted zone Z0EXAMPLE00001 would be managed by both",
    );
    expect(problem).toContain("environments.production.routers.orders-api");
  });

  it("refuses a GitHub environment listed by two stacks", () => {
    const config = exampleConfig();
    config.environments["staging"]!.githubEnvironments = ["staging", "production"];
    expect(planProblems(spec, config)).toContainEqual(
      expect.stringContaining(
        'GitHub environment "production" is listed by both environments.staging and environments.production',
      ),
    );
  });

  it("refuses configuration for a migration the spec does not have", () => {
    const config = exampleConfig();
    config.migrations["billing-api"] = {};
    expect(planProblems(spec, config)).toContainEqual(
      "configuration $.migrations.billing-api names no migration of migrations.json",
    );
  });

  it("derives deploy grants from the steps of the phases in each GitHub environment", () => {
    const orders = spec.migrations[0]!;
    expect(grantsFor(orders, "staging")).toEqual(["traffic", "deploy-new"]);
    expect(grantsFor(orders, "production")).toEqual(["traffic", "deploy-new"]);
    expect(grantsFor(orders, "production-decommission")).toEqual([
      "traffic",
      "decommission",
      "deregister-task-definitions",
    ]);
  });

  it("rounds alarm periods to what the one-minute metrics of both sides support", () => {
    expect(alarmPeriod("1m")).toBe(60);
    expect(alarmPeriod("10s")).toBe(60);
    expect(alarmPeriod("90s")).toBe(120);
    expect(alarmPeriod("5m")).toBe(300);
  });

  it("uses 10 s and 30 s periods only for custom metrics in declared high-resolution namespaces", () => {
    expect(alarmPeriod("10s", true)).toBe(10);
    expect(alarmPeriod("20s", true)).toBe(30);
    expect(alarmPeriod("45s", true)).toBe(60);
    const custom = (namespace: string) =>
      ({
        name: "queue-depth",
        metric: { queries: { m1: { namespace, metricName: "Depth", dimensions: {}, stat: "Maximum" } } },
        pass: { max: 1 },
      }) as const;
    expect(isHighResolution(custom("Orders/HighRes"), ["Orders/HighRes"])).toBe(true);
    expect(isHighResolution(custom("Orders/Standard"), ["Orders/HighRes"])).toBe(false);
    expect(
      isHighResolution({ name: "errors", metric: "error-rate", pass: { max: 1 } }, ["AWS/ApiGateway"]),
    ).toBe(false);
  });

  it("refuses an AWS namespace as high resolution", () => {
    const raw = JSON.parse(readFileSync(join(INFRA_DIR, "config.json"), "utf8"));
    raw.alarms = { highResolutionNamespaces: ["AWS/Lambda"] };
    expect(() => parseInfraConfig(raw, "config.json", {})).toThrow(
      '$.alarms.highResolutionNamespaces lists "AWS/Lambda": AWS service namespaces publish one-minute metrics',
    );
  });
});

describe("spec check for the infrastructure", () => {
  it("accepts the example spec", () => {
    expect(checkSpecForInfra(spec)).toEqual([]);
  });

  it("names the JSON path of what the stacks cannot build", () => {
    const broken = structuredClone(spec) as unknown as { migrations: Record<string, unknown>[] };
    const migration = broken.migrations[0]!;
    (migration["router"] as Record<string, unknown>)["recordType"] = "CNAME";
    (migration["newSide"] as { telemetry: Record<string, unknown> }).telemetry = {
      kind: "apigateway-rest",
      apiName: "orders",
      stage: "prod",
    };
    broken.migrations.push({ ...migration });
    expect(checkSpecForInfra(broken)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('$.migrations[0].router.recordType is "CNAME": alias records'),
        expect.stringContaining('$.migrations[0].newSide.telemetry.kind is "apigateway-rest"'),
        '$.migrations[1].id "orders-api" is used by an earlier migration',
      ]),
    );
  });
});

describe("npm run synth entry", () => {
  it("writes every stack and the manifest where the CLI asks, and fails clearly on a bad configuration", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "cutover-synth-"));
    // The example configuration, with the guardian package at a path this test controls.
    const example = JSON.parse(readFileSync(join(INFRA_DIR, "config.json"), "utf8"));
    const withZip = (zipPath: string) => {
      const file = join(outdir, `config-${zipPath.length}.json`);
      writeFileSync(
        file,
        JSON.stringify({ ...example, specPath: join(INFRA_DIR, example.specPath), guardian: { zipPath } }),
      );
      return file;
    };
    const missingZip = join(outdir, "missing", "guardian.zip");
    const missing = await run(process.execPath, ["--import", "tsx", join(INFRA_DIR, "main.ts")], {
      env: {
        ...process.env,
        CDKTF_OUTDIR: join(outdir, "no-zip"),
        CUTOVER_INFRA_CONFIG: withZip(missingZip),
      },
      timeout: 30_000,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(missing?.code).toBe(1);
    expect(missing?.stderr).toContain(`The guardian's code package ${missingZip} does not exist`);
    expect(missing?.stderr).toContain("run `npm run build` first");

    const zip = join(outdir, "guardian.zip");
    writeFileSync(zip, "a stand-in package: synthesis only hashes it");
    const { stdout } = await run(process.execPath, ["--import", "tsx", join(INFRA_DIR, "main.ts")], {
      env: { ...process.env, CDKTF_OUTDIR: outdir, CUTOVER_INFRA_CONFIG: withZip(zip) },
      timeout: 30_000,
    });
    expect(stdout).toMatch(/synthesized 2 stack\(s\) \[staging, production\]/);
    for (const name of ["staging", "production"]) {
      expect(existsSync(join(outdir, "stacks", name, "cdk.tf.json"))).toBe(true);
    }
    const production = JSON.parse(readFileSync(join(outdir, "stacks", "production", "cdk.tf.json"), "utf8"));
    const guardian = Object.values(
      production.resource.aws_lambda_function as Record<string, Record<string, string>>,
    ).find((fn) => fn["function_name"] === "cutover-production-guardian");
    expect(guardian?.["filename"]).toBe(zip);
    expect(guardian?.["source_code_hash"]).toBe(
      createHash("sha256").update("a stand-in package: synthesis only hashes it").digest("base64"),
    );
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8"));
    expect(Object.keys(manifest.stacks).sort()).toEqual(["production", "staging"]);

    const badConfig = join(outdir, "bad-config.json");
    writeFileSync(badConfig, JSON.stringify({ environments: {} }));
    const failure = await run(process.execPath, ["--import", "tsx", join(INFRA_DIR, "main.ts")], {
      env: {
        ...process.env,
        CDKTF_OUTDIR: join(outdir, "bad"),
        CUTOVER_INFRA_CONFIG: badConfig,
        CUTOVER_GITHUB_REPOSITORY: "",
      },
      timeout: 30_000,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(`${badConfig} is not a valid infrastructure configuration`);
    expect(failure?.stderr).toContain("$.environments: at least one environment (stack) is required");
  });
});
