// Keeps migrations.schema.json and status.schema.json in agreement with the
// TypeScript types in src/model: the compiler API reads every interface and
// type alias, and each property's name, optionality and type must match the
// schema definition of the same name. Typed samples of every variant (checked
// by the compiler against the types) must be accepted by the schema.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { schemaDocument } from "../../src/core/schema-check.js";
import { validateSpecText, validateStatusText } from "../../src/core/validate.js";
import type { MigrationsFile } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { repoRoot } from "../support/run-action.js";

type Schema = Record<string, unknown>;

/** Declarations in the types that the schema does not describe, with the reason. */
const TYPE_ONLY: Record<string, string> = {
  StepKind: "derived from StepSpec for code; not a field of the file",
};
/** Definitions in the schema without a type of the same name, with the reason. */
const SCHEMA_ONLY: Record<string, string> = {
  Timestamp: "a string in the types; the schema adds the ISO 8601 pattern",
};

const program = ts.createProgram(
  [join(repoRoot, "src/model/spec.ts"), join(repoRoot, "src/model/status.ts")],
  { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext },
);
const checker = program.getTypeChecker();

function declarationsOf(file: string): Map<string, ts.InterfaceDeclaration | ts.TypeAliasDeclaration> {
  const source = program.getSourceFile(join(repoRoot, file));
  if (!source) throw new Error(`${file} not found by the compiler`);
  const found = new Map<string, ts.InterfaceDeclaration | ts.TypeAliasDeclaration>();
  for (const statement of source.statements) {
    if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      found.set(statement.name.text, statement);
    }
  }
  return found;
}

/** A mismatch between the types and the schema, with where it is. */
class Mismatches {
  readonly list: string[] = [];
  add(where: string, message: string): void {
    this.list.push(`${where}: ${message}`);
  }
}

function resolve(root: Schema, schema: Schema): Schema {
  let current = schema;
  while (typeof current.$ref === "string") {
    const name = current.$ref.replace("#/definitions/", "");
    const { $ref: _ref, ...beside } = current;
    current = { ...((root.definitions as Record<string, Schema>)[name] ?? {}), ...beside };
  }
  return current;
}

function refName(schema: Schema | undefined): string | undefined {
  return typeof schema?.$ref === "string" ? schema.$ref.replace("#/definitions/", "") : undefined;
}

/** The literal values of a type node (`"a" | "b"`, `typeof SPEC_VERSION`), or undefined when it is not literals only. */
function literalValues(node: ts.TypeNode): (string | number)[] | undefined {
  const type = checker.getTypeFromTypeNode(node);
  const members = type.isUnion() ? type.types : [type];
  const values: (string | number)[] = [];
  for (const member of members) {
    if (member.isStringLiteral() || member.isNumberLiteral()) values.push(member.value);
    else return undefined;
  }
  return values;
}

function sorted(values: readonly unknown[]): string {
  return JSON.stringify([...values].map(String).sort());
}

function compareTypeNode(
  root: Schema,
  node: ts.TypeNode,
  raw: Schema,
  where: string,
  problems: Mismatches,
): void {
  const referenced = refName(raw);
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText();
    if (name === "Record") {
      const value = node.typeArguments?.[1];
      const schema = resolve(root, raw);
      if (value)
        compareTypeNode(root, value, (schema.additionalProperties ?? {}) as Schema, `${where}{*}`, problems);
      return;
    }
    const literals = literalValues(node);
    if (literals && !(root.definitions as Schema)[name]) {
      const schema = resolve(root, raw);
      const allowed = Array.isArray(schema.enum) ? schema.enum : "const" in schema ? [schema.const] : [];
      if (sorted(allowed) !== sorted(literals))
        problems.add(where, `types allow ${sorted(literals)}, schema ${sorted(allowed)}`);
      return;
    }
    if (referenced !== name)
      problems.add(where, `types say ${name}, schema refers to ${referenced ?? "no definition"}`);
    return;
  }
  if (ts.isArrayTypeNode(node)) {
    const schema = resolve(root, raw);
    if (schema.type !== "array") problems.add(where, `types say a list, schema type ${String(schema.type)}`);
    compareTypeNode(root, node.elementType, (schema.items ?? {}) as Schema, `${where}[]`, problems);
    return;
  }
  if (ts.isTypeLiteralNode(node)) {
    compareMembers(root, node.members, resolve(root, raw), where, problems);
    return;
  }
  if (ts.isParenthesizedTypeNode(node)) {
    compareTypeNode(root, node.type, raw, where, problems);
    return;
  }
  const literals = literalValues(node);
  if (literals) {
    const schema = resolve(root, raw);
    const allowed = Array.isArray(schema.enum) ? schema.enum : "const" in schema ? [schema.const] : [];
    if (sorted(allowed) !== sorted(literals))
      problems.add(where, `types allow ${sorted(literals)}, schema ${sorted(allowed)}`);
    return;
  }
  if (ts.isUnionTypeNode(node)) {
    const schema = resolve(root, raw);
    const names = node.types.map((member) => member.getText());
    if (names.every((name) => name === "null" || /^[A-Z]/.test(name))) {
      const branches = [
        ...((schema.oneOf ?? []) as Schema[]),
        ...(schema.then ? [schema.then as Schema] : []),
        ...(schema.else ? [schema.else as Schema] : []),
      ];
      const refs = branches.map(refName);
      if (sorted(refs) !== sorted(names))
        problems.add(where, `types say ${names.join(" | ")}, schema ${sorted(refs)}`);
      return;
    }
    const types = names.map((name) => (name === "string" ? "string" : name));
    if (sorted([schema.type].flat()) !== sorted(types))
      problems.add(where, `types say ${names.join(" | ")}, schema type ${JSON.stringify(schema.type)}`);
    return;
  }
  const keyword = node.getText();
  const schema = resolve(root, raw);
  const accepted: Record<string, string[]> = {
    string: ["string"],
    number: ["number", "integer"],
    boolean: ["boolean"],
  };
  if (accepted[keyword] && !accepted[keyword].includes(String(schema.type))) {
    problems.add(where, `types say ${keyword}, schema type ${String(schema.type)}`);
  }
}

function compareMembers(
  root: Schema,
  members: ts.NodeArray<ts.TypeElement>,
  schema: Schema,
  where: string,
  problems: Mismatches,
): void {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  const typeKeys = new Set<string>();
  for (const member of members) {
    if (ts.isIndexSignatureDeclaration(member)) {
      if (schema.additionalProperties !== true)
        problems.add(where, "types allow any further field, schema does not");
      continue;
    }
    if (!ts.isPropertySignature(member) || !member.type) continue;
    const name = member.name.getText().replace(/^"|"$/g, "");
    typeKeys.add(name);
    const optional = member.questionToken !== undefined;
    if (!properties[name]) {
      problems.add(`${where}.${name}`, "in the types, missing from the schema's properties");
      continue;
    }
    if (optional === required.has(name)) {
      problems.add(
        `${where}.${name}`,
        `${optional ? "optional" : "required"} in the types, not in the schema`,
      );
    }
    compareTypeNode(root, member.type, properties[name], `${where}.${name}`, problems);
  }
  for (const name of Object.keys(properties)) {
    if (!typeKeys.has(name)) problems.add(`${where}.${name}`, "in the schema, missing from the types");
  }
  for (const name of required) {
    if (!typeKeys.has(name))
      problems.add(`${where}.${name}`, "required by the schema, absent from the types");
  }
  if (!members.some(ts.isIndexSignatureDeclaration) && schema.additionalProperties !== false) {
    problems.add(where, "schema allows unknown fields; the types do not");
  }
}

function compareFile(typesFile: string, root: Schema): string[] {
  const problems = new Mismatches();
  const declarations = declarationsOf(typesFile);
  const definitions = root.definitions as Record<string, Schema>;
  for (const [name, declaration] of declarations) {
    if (TYPE_ONLY[name]) continue;
    const definition = definitions[name];
    if (!definition) {
      problems.add(name, "declared in the types, no schema definition");
      continue;
    }
    if (ts.isInterfaceDeclaration(declaration))
      compareMembers(root, declaration.members, definition, name, problems);
    else if (ts.isTypeReferenceNode(declaration.type)) {
      // A union of one member today (TrafficRouterSpec): the schema keeps the oneOf so members can be added.
      const refs = ((definition.oneOf ?? []) as Schema[]).map(refName);
      const member = declaration.type.typeName.getText();
      if (sorted(refs) !== sorted([member]))
        problems.add(name, `types say ${member}, schema oneOf ${sorted(refs)}`);
    } else compareTypeNode(root, declaration.type, definition, name, problems);
  }
  for (const name of Object.keys(definitions)) {
    if (!declarations.has(name) && !SCHEMA_ONLY[name] && !declarationsOfOther(typesFile).has(name)) {
      problems.add(name, "schema definition without a type of that name");
    }
  }
  return problems.list;
}

function declarationsOfOther(typesFile: string) {
  return declarationsOf(typesFile === "src/model/spec.ts" ? "src/model/status.ts" : "src/model/spec.ts");
}

describe("schema and types agree", () => {
  it("migrations.schema.json matches every declaration of src/model/spec.ts", () => {
    expect(compareFile("src/model/spec.ts", schemaDocument("spec"))).toEqual([]);
  });

  it("status.schema.json matches every declaration of src/model/status.ts", () => {
    expect(compareFile("src/model/status.ts", schemaDocument("status"))).toEqual([]);
  });

  it("the comparison notices a property the schema lacks", () => {
    const altered = structuredClone(schemaDocument("spec"));
    const shift = (altered.definitions as Record<string, Schema>).ShiftStep!;
    delete (shift.properties as Record<string, unknown>).weight;
    shift.required = ["kind"];
    expect(compareFile("src/model/spec.ts", altered)).toContain(
      "ShiftStep.weight: in the types, missing from the schema's properties",
    );
  });

  it("the comparison notices a wrong optionality and a wrong enum", () => {
    const altered = structuredClone(schemaDocument("spec"));
    const definitions = altered.definitions as Record<string, Schema>;
    (definitions.BakeStep!.required as string[]).pop();
    ((definitions.Route53RouterSpec!.properties as Record<string, Schema>).recordType as Schema).enum = ["A"];
    const problems = compareFile("src/model/spec.ts", altered);
    expect(problems).toContain("BakeStep.gate: required in the types, not in the schema");
    expect(problems.some((problem) => problem.startsWith("Route53RouterSpec.recordType: types allow"))).toBe(
      true,
    );
  });
});

// ---------------------------------------------------------------------------
// Typed samples: the compiler checks them against the types, the schema must accept them.

const everyVariant: MigrationsFile = {
  $schema: "./migrations.schema.json",
  version: 1,
  migrations: [
    {
      id: "orders-api",
      description: "ECS to Lambda behind an HTTP API",
      phase: "canary",
      override: { reason: "incident 42: the canary data is known good", requestedBy: "platform-team" },
      router: {
        kind: "route53",
        hostedZoneId: "Z0EXAMPLE00001",
        recordName: "api.example.com",
        recordType: "CNAME",
        oldSetIdentifier: "old",
        newSetIdentifier: "new",
      },
      oldSide: {
        kind: "ecs",
        cluster: "prod",
        service: "orders",
        telemetry: { kind: "alb", loadBalancer: "app/orders/1", targetGroup: "targetgroup/orders/2" },
      },
      newSide: {
        kind: "lambda",
        functionName: "orders",
        alias: "live",
        telemetry: { kind: "apigateway-rest", apiName: "orders", stage: "prod" },
        rdsProxy: "orders-proxy",
      },
      gates: {
        standard: {
          period: "5s",
          minSamples: 10,
          checkCost: true,
          metrics: [
            {
              name: "errors",
              metric: "error-rate",
              side: "new",
              pass: { max: 0.01 },
              rollback: { max: 0.02 },
              compareToOld: { maxIncrease: 0.005, maxRatio: 1.5 },
            },
            {
              name: "custom",
              metric: {
                queries: {
                  m1: {
                    namespace: "AWS/Lambda",
                    metricName: "Errors",
                    dimensions: { FunctionName: "orders" },
                    stat: "Sum",
                  },
                  m2: { namespace: "AWS/Lambda", metricName: "Invocations", dimensions: {}, stat: "p99.9" },
                },
                expression: "m1 / m2",
              },
              side: "old",
              pass: { min: 0, max: 1 },
              rollback: { min: -1 },
            },
          ],
        },
      },
      phases: [
        {
          name: "staging",
          environment: "staging",
          steps: [
            { kind: "deploy", side: "old" },
            {
              kind: "load-test",
              scenario: "load-tests/smoke.yaml",
              target: "https://staging.example.com",
              thresholds: { p95Ms: 1, p99Ms: 2, maxErrorRate: 0, minRateRatio: 1 },
            },
          ],
        },
        {
          name: "canary",
          environment: "production",
          steps: [
            { kind: "shift", weight: 100 },
            { kind: "bake", duration: "1h30m", gate: "standard" },
          ],
        },
        {
          name: "retire",
          environment: "production",
          steps: [{ kind: "decommission", hold: "2d", quietWindow: "1h", deregisterTaskDefinitions: false }],
        },
      ],
      cost: {
        monthlyProjectionUsd: 10,
        tolerance: 0.1,
        prices: { lambdaPerMillionRequests: 0.2, lambdaPerGbSecond: 0.00001, ecsPerTaskHour: 0.04 },
        lambdaMemoryMb: 512,
      },
    },
    {
      id: "minimal",
      description: "The other side kinds, and only required fields",
      phase: "only",
      router: {
        kind: "route53",
        hostedZoneId: "Z1",
        recordName: "b.example.com",
        recordType: "AAAA",
        oldSetIdentifier: "a",
        newSetIdentifier: "b",
      },
      oldSide: {
        kind: "lambda",
        functionName: "f",
        alias: "a",
        telemetry: { kind: "apigateway-http", apiId: "x", stage: "$default" },
      },
      newSide: {
        kind: "ecs",
        cluster: "c",
        service: "s",
        telemetry: { kind: "alb", loadBalancer: "app/b/1", targetGroup: "targetgroup/b/2" },
      },
      gates: {
        g: {
          period: "2m",
          minSamples: 1,
          metrics: [
            {
              name: "one",
              metric: {
                queries: { q: { namespace: "N", metricName: "M", dimensions: {}, stat: "Average" } },
              },
              pass: { max: 1 },
            },
          ],
        },
      },
      phases: [{ name: "only", environment: "e", steps: [{ kind: "shift", weight: 0 }] }],
    },
  ],
};

const everyStatusField: MigrationStatus = {
  $schema: "../status.schema.json",
  version: 2,
  migration: "orders-api",
  phase: "canary",
  state: "decommissioning",
  weights: { old: 0, new: 100 },
  checkpoints: [
    {
      phase: null,
      takenAt: "2026-01-01T00:00:00.000Z",
      weights: { old: 100, new: 0 },
      router: {
        kind: "route53",
        records: [
          {
            name: "api.example.com",
            type: "A",
            setIdentifier: "old",
            weight: 255,
            aliasTarget: { hostedZoneId: "Z2", dnsName: "alb.example.com", evaluateTargetHealth: true },
            healthCheckId: "hc",
          },
          {
            name: "api.example.com",
            type: "CNAME",
            setIdentifier: "new",
            weight: 0,
            ttl: 60,
            values: ["x.example.com"],
          },
        ],
      },
      lambdaVersion: "7",
      ecsTaskDefinition: "arn:aws:ecs:eu-west-1:1:task-definition/orders:3",
      ecsDesiredCount: 4,
    },
  ],
  timestamps: {
    phaseStartedAt: "2026-01-01T00:00:00.000Z",
    gateWindowStartsAt: "2026-01-01T00:01:00.000Z",
    bakeEndsAt: "2026-01-03T00:01:00Z",
    updatedAt: "2026-01-03T00:01:00.000Z",
  },
  lastVerdict: { verdict: "insufficient-data", at: "2026-01-02T00:00:00.000Z", gate: "standard" },
  decommission: {
    stage: "deleted",
    holdStartedAt: "2026-01-03T00:00:00.000Z",
    desiredCountBefore: 4,
    deletedAt: "2026-01-05T00:00:00.000Z",
  },
  history: [
    {
      at: "2026-01-01T00:00:00.000Z",
      event: "gate-evaluated",
      phase: "canary",
      from: "baking",
      to: "baking",
      verdict: "fail",
      reason: "p95 above 500 ms",
      evidence: { kind: "gate", window: { start: "a", end: "b" }, samples: 1200 },
      runUrl: "https://github.example/run/1",
      actor: "cutover-bot",
    },
  ],
};

describe("typed samples of every variant", () => {
  it("the spec schema and rules accept a spec using every step, side, telemetry and metric kind", () => {
    const result = validateSpecText(JSON.stringify(everyVariant), {
      file: "sample.json",
      fileExists: () => true,
    });
    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it("the status schema accepts a status using every optional field", () => {
    const result = validateStatusText(
      JSON.stringify(everyStatusField),
      "status/orders-api.json",
      "orders-api",
    );
    expect(result.errors).toEqual([]);
  });

  it("the example migrations.json and its $schema reference are accepted", () => {
    const text = readFileSync(join(repoRoot, "migrations.json"), "utf8");
    expect(JSON.parse(text).$schema).toBe("./migrations.schema.json");
    const result = validateSpecText(text, { file: "migrations.json", fileExists: () => true });
    expect(result.errors).toEqual([]);
  });

  it("every schema property carries a description, so editors can explain it", () => {
    const missing: string[] = [];
    for (const name of ["spec", "status"] as const) {
      const definitions = schemaDocument(name).definitions as Record<string, Schema>;
      for (const [definition, schema] of Object.entries(definitions)) {
        if (typeof schema.description !== "string") missing.push(`${name}:${definition}`);
        for (const [property, propertySchema] of Object.entries(
          (schema.properties ?? {}) as Record<string, Schema>,
        )) {
          const described =
            typeof propertySchema.description === "string" || typeof propertySchema.$ref === "string";
          if (!described && name === "spec") missing.push(`${name}:${definition}.${property}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
